"""Runs and stages: round trip, listing, lookup by prefix, interruption."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from dockyard.core.errors import UserInputError
from dockyard.core.model import STAGE_NAMES, Run, RunStatus, Stage, StageStatus
from dockyard.store.database import Database
from dockyard.store.owner import ProcessOwner, start_marker
from dockyard.store.runs import RunStore, new_run_id

T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


@pytest.fixture
def runs(store_db: Database) -> RunStore:
    return RunStore(store_db)


def make_run(run_id: str, repo: str = "web", created: datetime = T0) -> Run:
    return Run(
        id=run_id,
        repo=repo,
        ref="main",
        created=created,
        stages=[Stage(name) for name in STAGE_NAMES],
    )


def test_run_round_trip_with_stages(runs: RunStore) -> None:
    run = make_run("20261126T060000-abcdef")
    runs.create(run)
    run.status = RunStatus.FAILED
    run.commit = "a" * 40
    run.author = "Ann <ann@example.com>"
    run.message = "Fix checkout\n\nlong body"
    run.tag = "v1.2.0"
    run.image_name = "localhost:5000/shop/web"
    run.digest = "sha256:" + "b" * 64
    run.error = "The test service sut exited with code 1."
    run.warnings = ["The build context holds .env, which .dockerignore does not exclude."]
    run.finished = T0 + timedelta(minutes=3, microseconds=12)
    build = run.stage("build")
    build.status, build.started = StageStatus.SUCCEEDED, T0 + timedelta(seconds=5)
    build.finished, build.summary = T0 + timedelta(seconds=65), "built sha256:bbbb"
    runs.save(run)

    loaded = runs.get(run.id)
    assert loaded == run
    assert loaded is not None and loaded.finished is not None
    assert loaded.finished.tzinfo == UTC
    assert [stage.name for stage in loaded.stages] == list(STAGE_NAMES)


def test_save_stage_updates_one_stage_and_appends_new_ones(runs: RunStore) -> None:
    run = make_run("20261126T060000-abcdef")
    runs.create(run)
    runs.save_stage(run.id, Stage("test", StageStatus.RUNNING, started=T0))
    runs.save_stage(run.id, Stage("deploy:staging", StageStatus.PENDING))
    loaded = runs.get(run.id)
    assert loaded is not None
    assert loaded.stage("test").status is StageStatus.RUNNING
    assert loaded.stage("test").started == T0
    assert [stage.name for stage in loaded.stages] == [*STAGE_NAMES, "deploy:staging"]


def test_thousand_runs_list_newest_first_with_pagination(runs: RunStore) -> None:
    for minute in range(1000):
        runs.create(make_run(f"run-{minute:04d}", created=T0 + timedelta(minutes=minute)))
    runs.create(make_run("other-0001", repo="api"))

    assert runs.count("web") == 1000
    assert runs.count("api") == 1
    first_page = runs.list("web", limit=100)
    assert [run.id for run in first_page[:3]] == ["run-0999", "run-0998", "run-0997"]
    assert all(len(run.stages) == len(STAGE_NAMES) for run in first_page)
    page_ids = [run.id for offset in range(0, 1000, 100) for run in runs.list("web", offset=offset)]
    assert page_ids == [f"run-{minute:04d}" for minute in reversed(range(1000))]
    assert runs.list("web", offset=1000) == []
    latest = runs.latest("web")
    assert latest is not None and latest.id == "run-0999"
    assert runs.latest("nothing") is None


def test_get_by_unique_prefix_or_random_suffix(runs: RunStore) -> None:
    runs.create(make_run("20261126T060000-3fa9c1"))
    runs.create(make_run("20261126T070000-77d0e2"))
    by_prefix = runs.get("20261126T07")
    assert by_prefix is not None and by_prefix.id == "20261126T070000-77d0e2"
    by_suffix = runs.get("3fa9c1")
    assert by_suffix is not None and by_suffix.id == "20261126T060000-3fa9c1"
    assert runs.get("3fa9c") is None  # too short to be a prefix
    assert runs.get("99999999") is None
    with pytest.raises(UserInputError, match="More than one run"):
        runs.get("20261126T0")


def test_new_run_ids_sort_by_time_and_are_unique() -> None:
    earlier = new_run_id(T0)
    later = new_run_id(T0 + timedelta(seconds=1))
    assert earlier.startswith("20261126T060000-")
    assert earlier < later
    assert len({new_run_id(T0) for _ in range(200)}) > 190


def gone_process() -> ProcessOwner:
    """A process of this host that has ended (reaped): its pid no longer exists."""
    child = subprocess.Popen(["true"])
    child.wait()
    return ProcessOwner(socket.gethostname(), child.pid, "boot:1")


def test_interrupt_orphaned_settles_what_a_gone_process_left(runs: RunStore) -> None:
    dead = gone_process()
    running = make_run("run-running")
    running.status = RunStatus.RUNNING
    running.stage("checkout").status = StageStatus.SUCCEEDED
    running.stage("build").status = StageStatus.RUNNING
    running.stage("build").started = T0
    queued = make_run("run-queued")
    done = make_run("run-done")
    done.status = RunStatus.SUCCEEDED
    waiting = make_run("run-waiting")
    waiting.status = RunStatus.AWAITING_APPROVAL
    for run in (running, queued, done, waiting):
        runs.create(run, owner=dead)

    interrupted = runs.interrupt_orphaned().interrupted

    assert sorted(run.id for run in interrupted) == ["run-queued", "run-running"]
    reloaded = runs.get("run-running")
    assert reloaded is not None
    assert reloaded.status is RunStatus.INTERRUPTED
    assert reloaded.finished is not None
    assert "stopped before this run finished" in reloaded.error
    assert reloaded.stage("checkout").status is StageStatus.SUCCEEDED
    assert reloaded.stage("build").status is StageStatus.CANCELLED
    assert "interrupted" in reloaded.stage("build").summary
    assert reloaded.stage("test").status is StageStatus.CANCELLED
    assert [run.status for run in map(runs.get, ("run-done", "run-waiting")) if run] == [
        RunStatus.SUCCEEDED,
        RunStatus.AWAITING_APPROVAL,
    ]
    assert runs.interrupt_orphaned().interrupted == []


def test_runs_of_a_live_process_are_left_alone(runs: RunStore) -> None:
    mine = make_run("run-mine")
    mine.status = RunStatus.RUNNING
    runs.create(mine)  # owned by this (live) process
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        marker = start_marker(sibling.pid)
        assert marker is not None
        other = make_run("run-other-process")
        other.status = RunStatus.RUNNING
        runs.create(other, owner=ProcessOwner(socket.gethostname(), sibling.pid, marker))
        # The same pid with another start time is a reused pid: that process is gone.
        reused = make_run("run-reused-pid")
        reused.status = RunStatus.RUNNING
        runs.create(reused, owner=ProcessOwner(socket.gethostname(), sibling.pid, "boot:1"))

        report = runs.interrupt_orphaned()
    finally:
        sibling.kill()
        sibling.wait()

    assert [run.id for run in report.interrupted] == ["run-reused-pid"]
    assert {run.id: run.status for run in runs.list("web")} == {
        "run-mine": RunStatus.RUNNING,
        "run-other-process": RunStatus.RUNNING,
        "run-reused-pid": RunStatus.INTERRUPTED,
    }


def test_runs_owned_on_another_host_are_left_alone_and_reported(runs: RunStore) -> None:
    remote = ProcessOwner("build-box.example.test", 4242, "boot:7")
    run = make_run("run-remote")
    run.status = RunStatus.RUNNING
    runs.create(run, owner=remote)
    report = runs.interrupt_orphaned()
    assert report.interrupted == []
    assert [(r.id, owner) for r, owner in report.elsewhere] == [("run-remote", remote)]
    assert runs.owner_of("run-remote") == remote
    assert runs.get("run-remote").status is RunStatus.RUNNING  # type: ignore[union-attr]


def test_saving_a_run_that_was_never_created_fails(runs: RunStore) -> None:
    with pytest.raises(KeyError):
        runs.save(make_run("ghost"))
