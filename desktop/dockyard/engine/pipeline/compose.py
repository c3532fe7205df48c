"""The real compose CLI: ``docker compose`` when the plugin exists, else ``docker-compose``;
and the project a run's test is, which recovery needs without the test stage's code."""

from __future__ import annotations

import shutil
import subprocess

from dockyard.core.errors import InfrastructureError
from dockyard.core.once import once
from dockyard.engine.pipeline.toolcache import kept


@once
def compose_command() -> tuple[str, ...]:
    """Found out once while the CLIs stay as they are (``toolcache``)."""
    command = kept("compose", _find_compose)
    if command:
        return tuple(command)
    raise InfrastructureError(
        "Neither 'docker compose' nor 'docker-compose' is installed; install the Docker "
        "Compose plugin (or Debian's docker-compose) to run compose tests."
    )


def _find_compose() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def compose_project(run_id: str) -> str:
    """The compose project of a run's test: its containers, network and volumes carry it
    in the ``com.docker.compose.project`` label (recovery finds leftovers by it)."""
    return f"dockyard-{run_id}".lower().replace("_", "-")
