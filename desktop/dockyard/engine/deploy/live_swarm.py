"""Service and stack mode as the daemon reports them: the app service's release, whether
its spec was changed by hand (drift), and the stack's other services that do not run.

Read through a ``DaemonReader`` like container mode (``live``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from dockyard.engine.deploy import definitions
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.restarts import RESTARTING, service_restarts
from dockyard.engine.deploy.spec import RunningRelease
from dockyard.engine.endpoints.daemon_reader import Attrs, DaemonReader, daemon_errors

NAMESPACE = "com.docker.stack.namespace"
FILE_IMAGE = "com.docker.stack.image"  # the image as the file gave it; only a deploy sets it


def is_manager(reader: DaemonReader) -> bool:
    with daemon_errors("read the Swarm state"):
        swarm = reader.info().get("Swarm") or {}
    return bool(swarm.get("ControlAvailable"))


def services_running(
    reader: DaemonReader, repo: str, environment: str, *, stack: bool
) -> list[RunningRelease]:
    if not is_manager(reader):
        return []
    with daemon_errors("list services"):
        services = reader.services(L.selector(repo, environment))
    return [service_release(s, reader, stack=stack) for s in services]


def stack_services(reader: DaemonReader, stack: str) -> list[Attrs]:
    with daemon_errors(f"list the services of the stack {stack}"):
        return reader.services({"label": f"{NAMESPACE}={stack}"})


def service_release(service: Attrs, reader: DaemonReader, *, stack: bool) -> RunningRelease:
    """``stack``: the service is a stack's app, judged with the stack's other services."""
    spec = service["Spec"]
    name = name_of(service)
    labels = spec.get("Labels") or {}
    container = spec["TaskTemplate"]["ContainerSpec"]
    replicas = int((spec.get("Mode") or {}).get("Replicated", {}).get("Replicas", 1))
    with daemon_errors(f"list the tasks of {name}"):
        every_task = reader.tasks({"service": service["ID"]})
    tasks = [t for t in every_task if t.get("DesiredState") == "running"]
    running = sum(1 for t in tasks if t["Status"]["State"] == "running")
    restarts = service_restarts(labels, every_task)
    update = (service.get("UpdateStatus") or {}).get("State", "")
    if update in ("updating", "rollback_started"):
        state = "updating"
    elif restarts.looping:
        state = RESTARTING
    elif running >= replicas:
        state = "running"
    else:
        state = "starting" if tasks else "failed"
    namespace = str(labels.get(NAMESPACE, "")) if stack else ""
    members = stack_services(reader, namespace) if namespace else []
    if stack and L.SPEC not in labels:  # not marked (yet): trust the label
        fingerprint = str(labels.get(L.CONFIG, ""))
    else:
        fingerprint = _live_fingerprint(spec, replicas)
    release = L.release_from(
        labels,
        image=str(container.get("Image", "")),
        config_fingerprint=fingerprint,
        state=state,
        healthy=running >= replicas and state != RESTARTING,
        since=L.parse_time(service.get("UpdatedAt") or service.get("CreatedAt")),
        name=name,
        restarts=restarts.count,
        exit_code=restarts.exit_code,
    )
    if not namespace:
        return release
    others = {name_of(s).removeprefix(namespace + "_"): s for s in members if name_of(s) != name}
    stopped = tuple(short for short, s in others.items() if not _runs(s, reader))
    edited = _dependents_edited(labels, {short: s["Spec"] for short, s in others.items()})
    return replace(release, stopped_services=stopped, edited_services=edited)


def _live_fingerprint(spec: dict[str, Any], replicas: int) -> str:
    """The recorded configuration's fingerprint, or "" when the live spec was edited."""
    labels = spec.get("Labels") or {}
    container = spec["TaskTemplate"]["ContainerSpec"]
    live = spec_hash(container, (spec.get("EndpointSpec") or {}).get("Ports") or [], replicas)
    return str(labels.get(L.CONFIG, "")) if live == labels.get(L.SPEC) else ""


def _dependents_edited(app: Mapping[str, str], others: Mapping[str, Attrs]) -> tuple[str, ...]:
    """The stack's services besides the app (``others``: name in the file -> spec) changed
    since it was deployed (by hand, or left so by a failed release): another image than the
    stack's file gave (``docker service update --image``), another definition than the one
    recorded on the app (``--env-add``, ``--args``, ``--replicas``, …), or gone. Releases
    deployed before a record was kept are judged by what they recorded."""
    moved = {
        short
        for short, spec in others.items()
        if spec["TaskTemplate"]["ContainerSpec"].get("Image")
        != (spec.get("Labels") or {}).get(FILE_IMAGE)
    }
    expected = app.get(L.DEPENDENTS)  # None: deployed before it was recorded
    gone = set(filter(None, (expected or "").split(","))) - set(others)
    changed = definitions.edited(
        definitions.recorded_marks(app),
        {short: definitions.service_definition(spec) for short, spec in others.items()},
    )
    return tuple(sorted(moved | gone | set(changed)))


def _runs(service: Attrs, reader: DaemonReader) -> bool:
    """Whether the service runs its replicas, at least one (scaled to 0 by hand, it does not)."""
    mode = service["Spec"].get("Mode") or {}
    replicas = max(1, int((mode.get("Replicated") or {}).get("Replicas", 1)))
    with daemon_errors(f"list the tasks of {name_of(service)}"):
        tasks = reader.tasks({"desired-state": "running", "service": service["ID"]})
    return sum(1 for t in tasks if t["Status"]["State"] == "running") >= replicas


def name_of(service: Attrs) -> str:
    return str(service["Spec"].get("Name") or "")


def spec_hash(container: dict[str, Any], ports: list[dict[str, Any]], replicas: int) -> str:
    """A hash of the parts of a service a hand edit would change (env, files, mounts, ports)."""
    projection = {
        "env": sorted(container.get("Env") or []),
        "secrets": sorted(
            (s.get("SecretName"), (s.get("File") or {}).get("Name"))
            for s in container.get("Secrets") or []
        ),
        "configs": sorted(
            (c.get("ConfigName"), (c.get("File") or {}).get("Name"))
            for c in container.get("Configs") or []
        ),
        "mounts": sorted(
            (m.get("Type"), m.get("Source") or "", m.get("Target"), bool(m.get("ReadOnly")))
            for m in container.get("Mounts") or []
        ),
        "health": (container.get("Healthcheck") or {}).get("Test"),
        "ports": sorted(
            (p.get("TargetPort"), p.get("PublishedPort") or 0, p.get("Protocol") or "tcp")
            for p in ports
        ),
        "replicas": replicas,
    }
    if container.get("Args"):  # only when set: services deployed before keep their hash
        projection["args"] = list(container["Args"])
    return hashlib.sha256(json.dumps(projection, sort_keys=True).encode()).hexdigest()[:16]
