"""A ``dockyard run`` as its own process, to be SIGKILLed mid-stage: what the crash
recovery tests start, wait on, kill and clean up after."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.deploy.labels import selector
from testbed.cli import DEV, Cli

# A health check that passes at its first probe, one interval after the start.
HEALTHY = "wget -q -O /dev/null http://127.0.0.1/"


def start_run(cli: Cli, repo: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dockyard", "run", repo, "--ref", "v1.0.0", "--json"],
        env=cli.environ(DEV),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_deploy_container(
    client: docker.DockerClient, repo: str, run: subprocess.Popen[str], timeout: float = 240
) -> Container:
    """The container the deployer created for staging, as soon as it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # ignore_removed: the SDK inspects each listed container in a second call, and one
        # removed in between (a deployment discarded its new container) raised NotFound.
        found = client.containers.list(
            all=True, filters=selector(repo, "staging"), ignore_removed=True
        )
        if found:
            return found[0]
        if run.poll() is not None:
            pytest.fail(
                f"dockyard run ended before deploying: {run.stderr.read() if run.stderr else ''}"
            )
        time.sleep(0.1)
    pytest.fail("dockyard run never reached the deploy stage")


def kill(run: subprocess.Popen[str]) -> None:
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    if run.stderr is not None:
        run.stderr.close()


def cleanup(client: docker.DockerClient, repo: str, image: str) -> None:
    deployer_for("container", client).remove(repo, "staging")
    for leftover in client.images.list(name=image):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.images.remove(leftover.id, force=True)


def run_of(cli: Cli, repo: str) -> dict[str, Any]:
    runs = cli.json("runs", repo)
    assert len(runs) == 1
    run: dict[str, Any] = runs[0]
    return run
