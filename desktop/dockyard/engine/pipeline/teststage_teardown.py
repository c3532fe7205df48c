"""Removing what a killed run's test stage left on its build host (``teststage_leftovers``
finds the runs): the compose project's containers, network and volumes, or the command's
test container, by label."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors

from dockyard.core.model import Run
from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.endpoints.client import open_client
from dockyard.engine.endpoints.registry import EndpointRegistry
from dockyard.engine.pipeline.compose import compose_project
from dockyard.engine.pipeline.testproject import remove_test_project

TIMEOUT = 30


def remove_left_behind(home: Path, host: str, run: Run) -> list[str]:
    """What was removed: ``container NAME``, ``network NAME``, ``volume NAME``."""
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
