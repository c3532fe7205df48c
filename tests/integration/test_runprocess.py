"""Pipelines run in a child process, as the window runs them (engine.pipeline.runprocess)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import TypeGuard

import docker
import pytest

from dockyard.core.errors import DockyardError
from dockyard.core.model import RunStatus, StageStatus
from dockyard.engine.events import CancelToken, Event, RunChanged, StageChanged
from dockyard.engine.pipeline.runprocess import PipelineProcess, run_in_child
from dockyard.store.database import open_database
from dockyard.store.logs import stage_log_path
from dockyard.store.runs import RunStore
from testbed.cli import remove_images
from testbed.gitrepos import make_app_repo

SLOW_TEST = (
    "services:\n  sut:\n    image: ${DOCKYARD_IMAGE}\n"
    "    command: [sh, -c, 'echo started; sleep 300']\n"
)


def _test_stage_started(event: object) -> TypeGuard[StageChanged]:
    return (
        isinstance(event, StageChanged)
        and event.stage.name == "test"
        and event.stage.status == StageStatus.RUNNING
    )


def _child(home: Path, location: str, **kwargs: object) -> object:
    db = open_database(home)
    try:
        return run_in_child(
            home=home, db=db, location=location, ref=None, started_by="dev@example.test", **kwargs
        )  # type: ignore[arg-type]
    finally:
        db.close()


def test_a_child_runs_the_pipeline_and_reports_every_stage(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "child")
    events: list[Event] = []
    try:
        outcome = _child(dockyard_home, str(repo.path), sink=events.append, cancel=CancelToken())
    finally:
        remove_images(docker_client, "dockyard/child:")
    run = outcome.run  # type: ignore[attr-defined]
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.commit == repo.head
    assert [s.status for s in run.stages] == [StageStatus.SUCCEEDED] * 3 + [StageStatus.SKIPPED]
    # The window saw the run appear and each stage start and finish, in order.
    assert isinstance(events[0], RunChanged) and events[0].run.id == run.id
    seen = [(e.stage.name, e.stage.status) for e in events if isinstance(e, StageChanged)]
    assert seen.index(("build", StageStatus.RUNNING)) < seen.index(("build", StageStatus.SUCCEEDED))
    assert ("test", StageStatus.SUCCEEDED) in seen
    # What the child recorded is what the window's own database shows.
    stored = RunStore(open_database(dockyard_home)).get(run.id)
    assert stored is not None and stored.status == RunStatus.SUCCEEDED
    assert stored.digest == run.digest and run.digest.startswith("sha256:")
    assert "$ compose" in stage_log_path(dockyard_home, run.id, "test").read_text()


def test_cancelling_stops_the_child_and_its_containers(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "slowchild", compose_test=SLOW_TEST)
    cancel = CancelToken()

    def sink(event: Event) -> None:
        if _test_stage_started(event):
            threading.Timer(3.0, cancel.cancel).start()

    try:
        started = time.monotonic()
        outcome = _child(dockyard_home, str(repo.path), sink=sink, cancel=cancel)
        assert time.monotonic() - started < 120
        run = outcome.run  # type: ignore[attr-defined]
        assert run.status == RunStatus.CANCELLED
        assert run.stage("test").status == StageStatus.CANCELLED
        # docker_client's teardown fails the test if a container or network is left.
    finally:
        remove_images(docker_client, "dockyard/slowchild:")


def _wait_for_test_stage(child: PipelineProcess) -> str:
    for event in child.events():
        if _test_stage_started(event):
            return event.run_id
    raise AssertionError("the run ended before its test stage started")


def test_a_child_whose_window_went_away_cancels_its_run(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "orphan", compose_test=SLOW_TEST)
    child = PipelineProcess(
        home=dockyard_home, location=str(repo.path), ref=None, started_by="dev@example.test"
    )
    try:
        run_id = _wait_for_test_stage(child)
        assert child.process.stdin is not None
        child.process.stdin.close()  # what the window's death looks like to the child
        assert child.process.wait(timeout=120) == 0
        run = RunStore(open_database(dockyard_home)).get(run_id)
        assert run is not None and run.status == RunStatus.CANCELLED
    finally:
        child.close()
        remove_images(docker_client, "dockyard/orphan:")


def test_a_child_that_dies_leaves_an_interrupted_run_and_one_clear_message(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "killed", compose_test=SLOW_TEST)
    cancel = CancelToken()

    def sink(event: Event) -> None:
        if _test_stage_started(event):
            owner = RunStore(open_database(dockyard_home)).owner_of(event.run_id)
            assert owner is not None
            os.kill(owner.pid, signal.SIGKILL)

    try:
        with pytest.raises(DockyardError, match="stopped unexpectedly") as caught:
            _child(dockyard_home, str(repo.path), sink=sink, cancel=cancel)
        assert "killed by signal 9" in caught.value.message
        assert "is marked interrupted" in caught.value.message
        (run,) = RunStore(open_database(dockyard_home)).list(str(repo.path))
        assert run.status == RunStatus.INTERRUPTED
    finally:
        # The killed child could not stop its compose project: clean up like a user would.
        for container in docker_client.containers.list(all=True, ignore_removed=True):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        for network in docker_client.networks.list(names=["dockyard-"]):
            network.remove()
        remove_images(docker_client, "dockyard/killed:")
