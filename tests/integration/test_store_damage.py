"""A damaged database is refused in one sentence (exit 3) that says how to restore it,
before anything is written into it; ``audit verify`` checks the file, not only the chain."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from dockyard.core.model import STAGE_NAMES, Run, RunStatus, Stage, StageStatus
from dockyard.store.audit import AuditLog
from dockyard.store.database import open_database
from dockyard.store.runs import RunStore
from testbed.cli import run_dockyard as dockyard
from testbed.corruption import damage_a_page

REPO = "/srv/git/shop"


def recorded_store(home: Path, runs: int = 3) -> Path:
    db = open_database(home)
    store = RunStore(db)
    for number in range(runs):
        run = Run(
            id=f"20261129T0800{number:02d}-aaaaaa",
            repo=REPO,
            ref="main",
            started_by="dev@example.test",
            created=datetime(2026, 11, 29, 8, 0, number, tzinfo=UTC),
            stages=[Stage(name, StageStatus.SUCCEEDED) for name in STAGE_NAMES],
        )
        run.status = RunStatus.SUCCEEDED
        store.create(run)
        store.save(run)
        AuditLog(db).append("run", actor="dev@example.test", repo=REPO)
    db.close()
    return home / "dockyard.db"


def assert_refused_as_damaged(result: object, what: str) -> None:
    assert result.returncode == 3, result.stderr  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert stderr.count("dockyard: ") == 1 and "Traceback" not in stderr
    assert "is damaged" in stderr and what in stderr
    assert ".recover" in stderr and "backup" in stderr


def test_a_damaged_page_is_refused_and_never_written_to(tmp_path: Path) -> None:
    database = recorded_store(tmp_path)
    damage_a_page(database, "runs")
    before = database.read_bytes()

    assert_refused_as_damaged(dockyard(tmp_path, "runs", REPO), "")
    assert_refused_as_damaged(dockyard(tmp_path, "run", str(tmp_path)), "")
    verify = dockyard(tmp_path, "audit", "verify")
    assert_refused_as_damaged(verify, "")
    assert "verified" not in verify.stdout
    assert database.read_bytes() == before  # nothing was written into the damaged file


def test_a_dropped_audit_table_is_called_damage_not_an_unexpected_error(tmp_path: Path) -> None:
    database = recorded_store(tmp_path)
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE audit")
    connection.close()

    verify = dockyard(tmp_path, "audit", "verify")
    assert_refused_as_damaged(verify, "the table audit missing")
    assert "unexpected error" not in verify.stderr


def test_a_sound_store_still_verifies(tmp_path: Path) -> None:
    recorded_store(tmp_path)
    verify = dockyard(tmp_path, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert "audit chain verified: 3 entries" in verify.stdout
