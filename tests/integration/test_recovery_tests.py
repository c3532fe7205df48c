"""`kill -9` during the test stage: the compose project's containers and network are torn
down by the next recovery, which says so. Real daemon, compose and git; the CLI is
SIGKILLed mid-test."""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from integration.killed_runs import kill, run_of, start_run
from testbed.cli import Cli
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo

pytestmark = pytest.mark.docker

PROJECT = "com.docker.compose.project"
SLOW_TEST = """\
services:
  db:
    image: ${DOCKYARD_IMAGE}
    command: ["sh", "-c", "sleep 300"]
  sut:
    image: ${DOCKYARD_IMAGE}
    depends_on: [db]
    command: ["sh", "-c", "sleep 300"]
"""


def test_killed_test_stage_leaves_no_compose_project_behind(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    git_repo = make_app_repo(tmp_path / "web", compose_test=SLOW_TEST)
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, docker_daemon)
    run = start_run(cli, repo)
    deadline = time.monotonic() + 240
    try:
        while not [
            c
            for c in docker_client.containers.list(filters={"label": PROJECT}, ignore_removed=True)
            if c.labels.get("com.docker.compose.service") == "sut"
        ]:
            assert run.poll() is None, "dockyard run ended before its test ran"
            assert time.monotonic() < deadline, "the test stage never started its services"
            time.sleep(0.2)
        kill(run)
        project = docker_client.containers.list(filters={"label": PROJECT})[0].labels[PROJECT]
        by_project = {"label": f"{PROJECT}={project}"}
        assert len(docker_client.containers.list(all=True, filters=by_project)) == 2
        assert docker_client.networks.list(filters=by_project)

        status = cli("status", repo)
        assert status.returncode == 0, status.stderr
        run_id = run_of(cli, repo)["id"]
        said = [
            line
            for line in status.stderr.splitlines()
            if line.startswith(f"dockyard: recovery: Run {run_id}: removed")
        ]
        assert len(said) == 1 and "network" in said[0], status.stderr
        assert docker_client.containers.list(all=True, filters=by_project) == []
        assert docker_client.networks.list(filters=by_project) == []
        stages = {s["name"]: s for s in run_of(cli, repo)["stages"]}
        assert stages["test"]["status"] == "cancelled"
        assert "removed the test containers" in stages["test"]["summary"]
        # Handled once: the next start does not report it again.
        assert f"Run {run_id}: removed" not in cli("status", repo).stderr
    finally:
        if run.poll() is None:
            kill(run)
