"""A compose test project on its Docker host, found by label and removed through the
Docker API: what ``compose down --volumes --remove-orphans --rmi local`` removes, without
starting compose a second time (Debian's docker-compose 1.x takes ~0.5 s just to start,
a third of a small run). The test stage tears down with it; recovery removes what a
killed run's test left behind with it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from dockyard.engine.endpoints.daemon_api import DaemonApi, path_of
from dockyard.engine.endpoints.daemon_reader import Filters, filter_query
from dockyard.engine.endpoints.socket_http import DaemonRefused

COMPOSE_PROJECT = "com.docker.compose.project"


def built_image_names(project: str, services: Iterable[str]) -> list[str]:
    """The names compose gives the images it builds for services without ``image:``:
    ``project_service`` (docker-compose 1.x) or ``project-service`` (Compose v2)."""
    return [f"{project}{joint}{service}" for service in services for joint in ("_", "-")]


def remove_test_project(api: DaemonApi, project: str, images: Iterable[str] = ()) -> Iterator[str]:
    """Remove the project's containers (with their anonymous volumes), networks, named
    volumes, then ``images`` (compose's own builds, by name); yields what it removed.
    Raises ``DaemonRefused`` or ``DaemonUnanswered`` when the daemon refuses or does not
    answer."""
    labelled = filter_query({"label": f"{COMPOSE_PROJECT}={project}"})
    yield from remove_containers(api, {"label": f"{COMPOSE_PROJECT}={project}"})
    for network in api.get("/networks", filters=labelled):
        if _removed(api, path_of("/networks/{}", network["Id"])):
            yield f"network {network['Name']}"
    for volume in api.get("/volumes", filters=labelled).get("Volumes") or []:
        if _removed(api, path_of("/volumes/{}", volume["Name"]), force=True):
            yield f"volume {volume['Name']}"
    for name in images:
        if _removed(api, path_of("/images/{}", name)):
            yield f"image {name}"


def remove_containers(api: DaemonApi, filters: Filters) -> Iterator[str]:
    """Remove every container (running or not) matching ``filters``, with its anonymous
    volumes; yields ``container NAME`` for each."""
    for container in api.get("/containers/json", all=True, filters=filter_query(filters)):
        name = (container.get("Names") or [container["Id"][:12]])[0].lstrip("/")
        if _removed(api, path_of("/containers/{}", container["Id"]), force=True, v=True):
            yield f"container {name}"


def _removed(api: DaemonApi, path: str, **query: bool) -> bool:
    """False when it was gone already (removed since it was listed)."""
    try:
        api.delete(path, **query)
    except DaemonRefused as exc:
        if exc.status == 404:
            return False
        raise
    return True
