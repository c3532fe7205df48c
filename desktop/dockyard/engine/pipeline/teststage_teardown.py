"""Removing what a killed run's test stage left on its build host (``teststage_leftovers``
finds the runs): the compose project's containers, network and volumes, or the command's
test container, by label."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from dockyard.core.model import Run
from dockyard.engine.endpoints.daemon_api import DaemonApi
from dockyard.engine.endpoints.daemon_reader import daemon_errors
from dockyard.engine.endpoints.reading import open_api
from dockyard.engine.endpoints.registry import EndpointRegistry
from dockyard.engine.pipeline.compose import compose_project
from dockyard.engine.pipeline.testproject import remove_containers, remove_test_project

TIMEOUT = 30


def remove_left_behind(home: Path, host: str, run: Run) -> list[str]:
    """What was removed: ``container NAME``, ``network NAME``, ``volume NAME``."""
    api = open_api(EndpointRegistry(home).get(host), timeout=TIMEOUT)
    try:
        with daemon_errors(f"remove the test containers of run {run.id}"):
            return list(_teardown(api, run))
    finally:
        api.close()


def _teardown(api: DaemonApi, run: Run) -> Iterator[str]:
    yield from remove_test_project(api, compose_project(run.id))
    yield from remove_containers(api, {"label": [f"dockyard.run={run.id}", "dockyard.stage=test"]})
