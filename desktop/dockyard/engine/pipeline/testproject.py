"""A compose test project on its Docker host, found by label and removed through the
Docker API: what ``compose down --volumes --remove-orphans --rmi local`` removes, without
starting compose a second time (Debian's docker-compose 1.x takes ~0.5 s just to start,
a third of a small run). The test stage tears down with it; recovery removes what a
killed run's test left behind with it too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import docker

COMPOSE_PROJECT = "com.docker.compose.project"


def built_image_names(project: str, services: Iterable[str]) -> list[str]:
    """The names compose gives the images it builds for services without ``image:``:
    ``project_service`` (docker-compose 1.x) or ``project-service`` (Compose v2)."""
    return [f"{project}{joint}{service}" for service in services for joint in ("_", "-")]


def remove_test_project(
    client: docker.DockerClient, project: str, images: Iterable[str] = ()
) -> Iterator[str]:
    """Remove the project's containers (with their anonymous volumes), networks, named
    volumes, then ``images`` (compose's own builds, by name); yields what it removed.
    Raises what docker-py raises when the daemon refuses or does not answer."""
    import docker.errors  # with the client: the SDK is imported where it is used

    labelled = {"label": f"{COMPOSE_PROJECT}={project}"}
    for container in client.containers.list(all=True, filters=labelled):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
            yield f"container {container.name}"
    for network in client.networks.list(filters=labelled):
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
            yield f"network {network.name}"
    for volume in client.volumes.list(filters=labelled):
        with contextlib.suppress(docker.errors.NotFound):
            volume.remove(force=True)
            yield f"volume {volume.name}"
    for name in images:
        with contextlib.suppress(docker.errors.NotFound):
            client.images.remove(name)
            yield f"image {name}"
