"""The integrity check at open: cheap on a real store of 1,000 runs, and it finds a page
whose bytes were overwritten."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dockyard.core.model import STAGE_NAMES, Run, RunStatus, Stage, StageStatus
from dockyard.store.database import open_database
from dockyard.store.integrity import StoreDamaged, damage_of
from dockyard.store.runs import RunStore
from testbed.corruption import damage_a_page

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def store_of_1000_runs(home: Path) -> None:
    db = open_database(home)
    store = RunStore(db)
    with db.transaction():
        for number in range(1000):
            run = Run(
                id=f"run-{number:04d}",
                repo=f"/srv/git/app{number % 7}",
                ref="main",
                started_by="dev@example.test",
                created=T0 + timedelta(minutes=number),
                stages=[
                    Stage(name, StageStatus.SUCCEEDED, summary="ok " * 20) for name in STAGE_NAMES
                ],
            )
            run.status = RunStatus.SUCCEEDED
            run.error = "x" * 200
            store.create(run)
    db.close()


def test_quick_check_at_open_costs_milliseconds_on_1000_runs(tmp_path: Path) -> None:
    store_of_1000_runs(tmp_path)
    db = open_database(tmp_path)
    connection = db.connect()
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        assert damage_of(connection) == ""
        timings.append(time.perf_counter() - started)
    db.close()
    size = (tmp_path / "dockyard.db").stat().st_size
    best = min(timings)
    print(f"quick_check of a 1,000-run store ({size // 1024} KiB): {best * 1000:.1f} ms")
    assert best < 0.05


def test_an_overwritten_page_is_refused_at_open(tmp_path: Path) -> None:
    store_of_1000_runs(tmp_path)
    damage_a_page(tmp_path / "dockyard.db", "runs")
    with pytest.raises(StoreDamaged, match="is damaged"):
        open_database(tmp_path)
