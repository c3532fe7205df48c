"""A run's compose test leaves nothing on the Docker host (containers, network, named
volumes, the images compose built for it), and what Docker refuses to remove is said as
a warning of the run, which still passes on its test's verdict."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import docker
import docker.errors
import pytest

from dockyard.core.model import RunStatus
from dockyard.engine.events import Event, RunChanged
from dockyard.engine.pipeline.compose import compose_project
from integration.pipeline_runs import log_of, run
from testbed.cli import remove_images
from testbed.gitrepos import make_app_repo

pytestmark = pytest.mark.docker

WITH_A_VOLUME = """\
services:
  sut:
    image: ${DOCKYARD_IMAGE}
    command: [sh, -c, 'sleep SECONDS; echo data > /data/file && echo volume written']
    volumes: [data:/data]
volumes:
  data:
"""


def test_a_compose_test_leaves_no_container_network_or_volume(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "tidy", compose_test=WITH_A_VOLUME.replace("SECONDS", "0"))
    try:
        outcome = run(dockyard_home, repo)
        assert outcome.run.status == RunStatus.SUCCEEDED, outcome.run.error
        assert "volume written" in log_of(dockyard_home, outcome.run.id, "test")
        assert outcome.run.warnings == []
        # docker_client's teardown fails the test if a container, network or volume is left.
    finally:
        remove_images(docker_client, "dockyard/tidy:")


def test_a_volume_docker_will_not_remove_is_a_warning_of_the_run(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "held", compose_test=WITH_A_VOLUME.replace("SECONDS", "4"))
    holders: list[docker.models.containers.Container] = []
    held: list[str] = []  # the volume's name once held
    watching: list[threading.Thread] = []

    def hold_the_volume(project: str) -> None:
        # Another container (not the test's) mounts the test's volume while the test runs.
        name = f"{project}_data"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.volumes.get(name)
                held.append(name)
                holders.append(
                    docker_client.containers.run(
                        "busybox:stable", ["sleep", "300"], detach=True,
                        volumes={name: {"bind": "/held"}}, network_mode="none",
                    )
                )  # fmt: skip
                return
            time.sleep(0.1)

    def sink(event: Event) -> None:
        if isinstance(event, RunChanged) and not watching:
            project = compose_project(event.run.id)
            watching.append(threading.Thread(target=hold_the_volume, args=(project,)))
            watching[0].start()

    try:
        outcome = run(dockyard_home, repo, sink=sink)
        assert outcome.run.status == RunStatus.SUCCEEDED, outcome.run.error
        assert holders, "the volume never appeared"
        project = compose_project(outcome.run.id)
        [warning] = outcome.run.warnings
        assert warning.startswith(
            "the test's containers, networks and volumes could not all be removed ("
        ), warning
        assert "in use" in warning
        assert warning.endswith(
            f"remove what is left with: docker compose -p {project} down --volumes"
        )
        assert f"WARNING: {warning}" in log_of(dockyard_home, outcome.run.id, "test")
        # The rest went: the test's container and network.
        labelled = {"label": f"com.docker.compose.project={project}"}
        assert docker_client.containers.list(all=True, filters=labelled) == []
        assert docker_client.networks.list(filters=labelled) == []
    finally:
        for thread in watching:
            thread.join()
        for holder in holders:
            holder.remove(force=True)
        for name in held:
            docker_client.volumes.get(name).remove()
        remove_images(docker_client, "dockyard/held:")
