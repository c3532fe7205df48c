"""Crash recovery: a `dockyard run` killed mid-deploy leaves an interrupted deployment and
run, never a phantom success; a deployment the daemon already runs healthy is recognised.
Real daemon, registry and git; the CLI runs as a subprocess that is SIGKILLed."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from dockyard.core.locations import normalise_location
from dockyard.core.releases import DeploymentStatus
from dockyard.engine.deploy.labels import DEPLOYMENT, selector
from dockyard.engine.release.service import ReleaseService
from dockyard.store.database import open_database
from integration.killed_runs import (
    HEALTHY,
    cleanup,
    kill,
    run_of,
    start_run,
    wait_for_deploy_container,
)
from testbed.cli import Cli, environment
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
    healthcheck: {{test: "{check}", interval: {interval}, retries: 300}}
"""
# Never passes: the deployment sits in its health gate until it is killed (Docker says
# "unhealthy", which ends the gate, only after 300 probes: long after a loaded test's kill).
NEVER_HEALTHY = "test -f /tmp/never-there"


def started(container: Container) -> bool:
    container.reload()
    return container.attrs["State"]["StartedAt"] != "0001-01-01T00:00:00Z"


def health_of(container: Container) -> str:
    container.reload()
    return str((container.attrs["State"].get("Health") or {}).get("Status"))


def make_repo(tmp_path: Path, image: str, check: str, interval: str) -> str:
    git_repo = make_app_repo(
        tmp_path / "web", dockyard_yml=PIPELINE.format(image=image, check=check, interval=interval)
    )
    git_repo.tag("v1.0.0")
    return normalise_location(str(git_repo.path))


@contextlib.contextmanager
def run_deploying(
    tmp_path: Path,
    home: Path,
    daemon: PrivateDaemon,
    client: docker.DockerClient,
    image: str,
    check: str,
    interval: str,
) -> Iterator[tuple[Cli, str, subprocess.Popen[str]]]:
    """``dockyard run`` of v1.0.0 started (its staging has ``check``); killed if it still
    runs at the end, and its container and images removed."""
    repo = make_repo(tmp_path, image, check, interval)
    cli = Cli(home, daemon)
    run = start_run(cli, repo)
    try:
        yield cli, repo, run
    finally:
        if run.poll() is None:
            kill(run)
        cleanup(client, repo, image)


def test_killed_mid_deploy_shows_interrupted_not_succeeded(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/recovery/slow"
    with run_deploying(
        tmp_path, dockyard_home, docker_daemon, docker_client, image, NEVER_HEALTHY, "1s"
    ) as (cli, repo, run):
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


def test_killed_after_the_daemon_runs_it_healthy_recovers_as_deployed(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/recovery/fine"
    with run_deploying(
        tmp_path, dockyard_home, docker_daemon, docker_client, image, HEALTHY, "10s"
    ) as (cli, repo, run):
        container = wait_for_deploy_container(docker_client, repo, run)
        # Freeze Dockyard before the first probe (10 s after start: room for a loaded
        # machine), so it cannot have seen the container healthy; then let the daemon make
        # it healthy; then kill. Not before the deployer started it: frozen between create
        # and start, it never runs.
        deadline = time.monotonic() + 60
        while not started(container):
            assert time.monotonic() < deadline, "the deployer never started the container"
            time.sleep(0.05)
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
