"""What a killed run's test stage left on its Docker host, removed at recovery.

A run killed during its test leaves the compose project (containers, network, volumes)
or the command's test container behind, since the teardown never ran. They are found by
label on the run's build host; once handled, the test stage's summary says so, so later
recoveries do not look again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors

from dockyard.core.errors import DockyardError
from dockyard.core.model import Run
from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.endpoints.registry import EndpointRegistry, open_client
from dockyard.engine.pipeline.compose import compose_project
from dockyard.engine.pipeline.testproject import remove_test_project
from dockyard.engine.release.config import pipeline_at
from dockyard.store.database import Database
from dockyard.store.runs import RunStore

TIMEOUT = 30
REMOVED = "interrupted; Dockyard removed the test containers it left behind"
NOTHING_LEFT = "interrupted: Dockyard stopped before this stage finished (nothing was left behind)"


def remove_test_leftovers(home: Path, db: Database) -> list[str]:
    """Tear down the test stages of interrupted runs; one line per run that left anything
    behind or whose host could not be asked (tried again at the next recovery)."""
    runs = RunStore(db)
    lines = []
    for run in runs.interrupted_in_stage("test"):
        host = _build_host(home, run)
        try:
            removed = _remove(home, host, run)
        except DockyardError as exc:
            lines.append(
                f"Run {run.id}: could not remove what its test left on {host} ({exc.message}); "
                "tried again at the next start."
            )
            continue
        stage = run.stage("test")
        stage.summary = REMOVED if removed else NOTHING_LEFT
        runs.save_stage(run.id, stage)
        if removed:
            lines.append(
                f"Run {run.id}: removed what its interrupted test left on {host} "
                f"({', '.join(removed)})."
            )
    return lines


def _build_host(home: Path, run: Run) -> str:
    try:
        return pipeline_at(home, run.repo, run.commit).build.host if run.commit else "local"
    except DockyardError:
        return "local"


def _remove(home: Path, host: str, run: Run) -> list[str]:
    client = open_client(EndpointRegistry(home).get(host), timeout=TIMEOUT)
    try:
        with docker_errors(f"remove the test containers of run {run.id}"):
            return list(_teardown(client, run))
    finally:
        client.close()


def _teardown(client: docker.DockerClient, run: Run) -> Iterator[str]:
    yield from remove_test_project(client, compose_project(run.id))
    command = {"label": [f"dockyard.run={run.id}", "dockyard.stage=test"]}
    for container in client.containers.list(all=True, filters=command):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
            yield f"container {container.name}"
