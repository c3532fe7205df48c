"""What runs in an environment, as its daemon reports it: the releases ``inspect`` returns.

Read through a ``DaemonReader``, so ``dockyard status`` reads a local daemon without
Docker's SDK (``open_reader``) while the deployers read through their SDK client
(``SdkReader``): the same code gives both their answers. Container mode is here,
service and stack mode in ``live_swarm``.
"""

from __future__ import annotations

from dataclasses import replace

from dockyard.core.errors import UserInputError
from dockyard.engine.deploy import definitions
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.definitions import COMPOSE_SERVICE
from dockyard.engine.deploy.live_swarm import services_running
from dockyard.engine.deploy.restarts import RESTARTING, container_restarts
from dockyard.engine.deploy.spec import RunningRelease
from dockyard.engine.endpoints.daemon_reader import Attrs, DaemonReader, daemon_errors

TEMPORARY_SUFFIX = "-next"  # a container mode release in its health gate
SWARM_TASK_LABEL = "com.docker.swarm.service.id"
COMPOSE_PROJECT = "com.docker.compose.project"


def unknown_mode(mode: str) -> UserInputError:
    return UserInputError(f"Unknown deployment mode {mode!r}; use container, service or stack.")


def running_in(
    reader: DaemonReader, mode: str, repo: str, environment: str
) -> list[RunningRelease]:
    """What the deployer of ``mode`` reports from ``inspect(repo, environment)``."""
    if mode == "container":
        return containers_running(reader, repo, environment)
    if mode in ("service", "stack"):
        return services_running(reader, repo, environment, stack=mode == "stack")
    raise unknown_mode(mode)


def containers_running(reader: DaemonReader, repo: str, environment: str) -> list[RunningRelease]:
    found = environment_containers(reader, repo, environment)
    members = project_containers(reader, L.resource_name(repo, environment)) if found else []
    stopped = tuple(
        str(labels_of(c).get(COMPOSE_SERVICE, name_of(c)))
        for c in members
        if status_of(c) != "running"
    )
    return [
        replace(
            container_release(c, reader),
            stopped_services=stopped,
            edited_services=definitions.containers_edited(labels_of(c), members),
        )
        for c in found
    ]


def environment_containers(reader: DaemonReader, repo: str, environment: str) -> list[Attrs]:
    with daemon_errors("list containers"):
        found = reader.containers(L.selector(repo, environment))
    # Swarm task containers carry the labels too; they belong to service mode.
    return [c for c in found if SWARM_TASK_LABEL not in labels_of(c)]


def project_containers(reader: DaemonReader, project: str) -> list[Attrs]:
    """The containers of a compose project: an environment's dependent services."""
    with daemon_errors(f"list the containers of {project}"):
        return reader.containers({"label": f"{COMPOSE_PROJECT}={project}"})


def container_release(container: Attrs, reader: DaemonReader) -> RunningRelease:
    state = container.get("State") or {}
    health = (state.get("Health") or {}).get("Status")
    status = status_of(container)
    name = name_of(container)
    if status == "running" and (name.endswith(TEMPORARY_SUFFIX) or health == "starting"):
        # In (or interrupted in) its health gate, or its health check has no verdict yet:
        # not released, whatever its uptime.
        status = "starting"
    restarts = container_restarts(container, reader)
    labels = labels_of(container)
    return L.release_from(
        labels,
        image=str((container.get("Config") or {}).get("Image") or ""),
        config_fingerprint=labels.get(L.CONFIG, ""),
        state=RESTARTING if restarts.looping else status,
        healthy=False
        if restarts.looping
        else {"healthy": True, "unhealthy": False}.get(str(health)),
        since=L.parse_time(state.get("StartedAt")),
        name=name,
        restarts=restarts.count,
        exit_code=restarts.exit_code,
    )


def labels_of(container: Attrs) -> dict[str, str]:
    return dict((container.get("Config") or {}).get("Labels") or {})


def name_of(container: Attrs) -> str:
    return str(container.get("Name") or "").lstrip("/")


def status_of(container: Attrs) -> str:
    return str((container.get("State") or {}).get("Status") or "")
