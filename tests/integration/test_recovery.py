"""Crash recovery: a `dockyard run` killed mid-deploy leaves an interrupted deployment and
run, never a phantom success; a deployment the daemon already runs healthy is recognised.
Real daemon, registry and git; the CLI runs as a subprocess that is SIGKILLed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from dockyard.core.locations import normalise_location
from dockyard.core.releases import DeploymentStatus
from dockyard.engine.deploy import deployer_for
from dockyard.engine.deploy.labels import DEPLOYMENT, selector
from dockyard.engine.release.service import ReleaseService
from dockyard.store.database import open_database
from integration.test_releases import DESKTOP, Cli, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

PIPELINE = """\
image: {image}
environments:
  staging:
    mode: container
    auto: true
    healthcheck: {{test: "{check}", interval: {interval}, retries: 30}}
"""
# Never passes: the deployment sits in its health gate until it is killed.
NEVER_HEALTHY = "test -f /tmp/never-there"
# Passes at its first probe, one interval after the start.
HEALTHY = "wget -q -O /dev/null http://127.0.0.1/"


def start_run(cli: Cli, repo: str) -> subprocess.Popen[str]:
    env = dict(
        os.environ,
        DOCKYARD_HOME=str(cli.home),
        DOCKYARD_USER="dev@example.test",
        DOCKER_HOST=cli.daemon.url,
        PYTHONPATH=str(DESKTOP),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "dockyard", "run", repo, "--ref", "v1.0.0", "--json"],
        env=env,
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
        found = client.containers.list(all=True, filters=selector(repo, "staging"))
        if found:
            return found[0]
        if run.poll() is not None:
            pytest.fail(
                f"dockyard run ended before deploying: {run.stderr.read() if run.stderr else ''}"
            )
        time.sleep(0.1)
    pytest.fail("dockyard run never reached the deploy stage")


def health_of(container: Container) -> str:
    container.reload()
    return str((container.attrs["State"].get("Health") or {}).get("Status"))


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


def make_repo(tmp_path: Path, image: str, check: str, interval: str) -> str:
    git_repo = make_app_repo(
        tmp_path / "web", dockyard_yml=PIPELINE.format(image=image, check=check, interval=interval)
    )
    git_repo.tag("v1.0.0")
    return normalise_location(str(git_repo.path))


def run_of(cli: Cli, repo: str) -> dict[str, Any]:
    runs = cli.json("runs", repo)
    assert len(runs) == 1
    run: dict[str, Any] = runs[0]
    return run


def test_killed_mid_deploy_shows_interrupted_not_succeeded(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/recovery/slow"
    repo = make_repo(tmp_path, image, NEVER_HEALTHY, "1s")
    cli = Cli(dockyard_home, docker_daemon)
    run = start_run(cli, repo)
    try:
        container = wait_for_deploy_container(docker_client, repo, run)
        deployment_id = int(container.labels[DEPLOYMENT])
        # While `dockyard run` is alive, another process's recovery leaves its work alone.
        meanwhile = cli.json("status", repo)
        assert environment(meanwhile, "staging")["latest"]["status"] == "deploying"
        assert meanwhile["recovery"] == [] and run_of(cli, repo)["status"] == "running"
        kill(run)

        # Reading is not settling: the engine's status read leaves the ledger as it was.
        db = open_database(dockyard_home)
        reader = ReleaseService(home=dockyard_home, db=db, identity="reader@example.test")
        (read,) = reader.status(normalise_location(repo)).environments
        assert read.latest is not None and read.latest.status is DeploymentStatus.DEPLOYING
        db.close()

        status = cli.json("status", repo)  # the command settles first, and says so
        staging = environment(status, "staging")
        assert staging["release"] is None  # nothing was ever deployed successfully
        assert staging["latest"]["id"] == deployment_id
        assert staging["latest"]["status"] == "interrupted"
        assert "not healthy" in staging["latest"]["error"]
        assert any(f"Deployment {deployment_id}" in line for line in status["recovery"])

        listed = run_of(cli, repo)
        assert listed["status"] == "interrupted"
        stages = {s["name"]: s["status"] for s in listed["stages"]}
        assert stages["deliver"] == "succeeded" and stages["deploy-staging"] == "cancelled"
        # A second look settles nothing again and still says interrupted.
        again = cli.json("status", repo)
        assert again["recovery"] == []
        assert environment(again, "staging")["latest"]["status"] == "interrupted"
    finally:
        if run.poll() is None:
            kill(run)
        cleanup(docker_client, repo, image)


def test_killed_after_the_daemon_runs_it_healthy_recovers_as_deployed(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/recovery/fine"
    repo = make_repo(tmp_path, image, HEALTHY, "3s")
    cli = Cli(dockyard_home, docker_daemon)
    run = start_run(cli, repo)
    try:
        container = wait_for_deploy_container(docker_client, repo, run)
        # Freeze Dockyard before the first probe (3 s after start), so it cannot have seen
        # the container healthy; then let the daemon make it healthy; then kill.
        run.send_signal(signal.SIGSTOP)
        assert health_of(container) != "healthy"
        deadline = time.monotonic() + 180  # health checks run late on a loaded machine
        while health_of(container) != "healthy":
            assert time.monotonic() < deadline, "the container never became healthy"
            time.sleep(0.2)
        kill(run)
        deployment_id = int(container.labels[DEPLOYMENT])

        status = cli.json("status", repo)
        staging = environment(status, "staging")
        assert staging["latest"]["status"] == "deployed"
        assert staging["release"]["id"] == deployment_id
        assert staging["drift"] is None
        assert any("recorded as deployed" in line for line in status["recovery"])
        # The swap the killed deployer never finished: the container has its final name.
        (running,) = docker_client.containers.list(filters=selector(repo, "staging"))
        assert not running.name.endswith("-next")
        assert running.labels[DEPLOYMENT] == str(deployment_id)
        assert run_of(cli, repo)["status"] == "interrupted"
    finally:
        if run.poll() is None:
            kill(run)
        cleanup(docker_client, repo, image)
