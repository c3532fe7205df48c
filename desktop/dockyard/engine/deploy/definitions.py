"""What each dependent service ran as when Dockyard deployed it, to notice hand edits (drift).

Once a release with dependents runs, Dockyard hashes each dependent's definition as the
daemon reports it (a Swarm service's spec; a compose container's configuration) and
records the hashes on the app (``labels.DEPENDENT_SPECS``, ``cache=3f…,worker=9a…``).
Status hashes what runs now and names the services whose hash differs, or that are gone.
The hashes leave out what changes without anyone changing the service: a forced update's
counter, a new task or container of the same definition, defaults a client wrote out,
the address and name of a re-created container. Code without Docker's SDK: status reads
the daemon without it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from dockyard.engine.deploy.labels import DEPENDENT_SPECS

COMPOSE_SERVICE = "com.docker.compose.service"
# Compose's own hash of the service's definition; its other labels name the run that made
# the container (a temporary file, the container it replaced), not what runs.
COMPOSE_CONFIG_HASH = "com.docker.compose.config-hash"
_COMPOSE = "com.docker.compose."
_ONE_OFF = "com.docker.compose.oneoff"
# Written out as its default (10 s) by some clients' updates (docker-py's): not a change.
_UNCOUNTED = ("StopGracePeriod",)
# What a compose file sets on the host side besides ports and mounts.
_HOST_KEYS = (
    "Privileged", "CapAdd", "CapDrop", "Devices", "ExtraHosts", "Memory", "NanoCpus",
    "ReadonlyRootfs", "PidMode", "IpcMode",
)  # fmt: skip
_ANONYMOUS = re.compile(r"[0-9a-f]{64}")  # a volume Docker named: kept across a re-create


def service_definition(spec: Mapping[str, Any]) -> str:
    """The hash of a Swarm service's spec: what its tasks run (image, command, env,
    mounts, secrets, configs, health check, …), its replicas, ports, networks and limits."""
    task = spec.get("TaskTemplate") or {}
    container = {k: v for k, v in (task.get("ContainerSpec") or {}).items() if k not in _UNCOUNTED}
    container["Env"] = sorted(container.get("Env") or [])
    return _hash(
        {
            "container": container,
            "mode": spec.get("Mode"),
            "ports": (spec.get("EndpointSpec") or {}).get("Ports"),
            "networks": task.get("Networks"),
            "resources": task.get("Resources"),
            "placement": task.get("Placement"),
        }
    )


def container_definition(attrs: Mapping[str, Any]) -> str:
    """The hash of a compose container as ``docker inspect`` reports it: its image,
    command, env, user, health check, labels, ports, mounts, networks and privileges."""
    config = attrs.get("Config") or {}
    host = attrs.get("HostConfig") or {}
    labels = {
        k: v
        for k, v in (config.get("Labels") or {}).items()
        if not k.startswith(_COMPOSE) or k in (COMPOSE_SERVICE, COMPOSE_CONFIG_HASH)
    }
    mounts = [
        (m.get("Type"), m.get("Destination"), bool(m.get("RW")), _mount_source(m))
        for m in attrs.get("Mounts") or []
    ]
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    return _hash(
        {
            "image": attrs.get("Image"),
            "reference": config.get("Image"),
            "entrypoint": config.get("Entrypoint"),
            "cmd": config.get("Cmd"),
            "env": sorted(config.get("Env") or []),
            "user": config.get("User"),
            "dir": config.get("WorkingDir"),
            "health": config.get("Healthcheck"),
            "labels": labels,
            "ports": host.get("PortBindings"),
            "mounts": sorted(mounts, key=json.dumps),
            "networks": sorted(networks),
            "host": {k: host.get(k) for k in _HOST_KEYS},
        }
    )


def containers_by_service(containers: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Service -> the hash of its containers (a service scaled up has several)."""
    found: dict[str, list[str]] = {}
    for attrs in containers:
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        # A one-off container (`docker compose run cache sh`) runs beside the service.
        if COMPOSE_SERVICE in labels and labels.get(_ONE_OFF) != "True":
            found.setdefault(str(labels[COMPOSE_SERVICE]), []).append(container_definition(attrs))
    return {name: hashes[0] if len(hashes) == 1 else _hash(sorted(hashes))
            for name, hashes in found.items()}  # fmt: skip


def containers_edited(
    app: Mapping[str, str], members: Iterable[Mapping[str, Any]]
) -> tuple[str, ...]:
    """Container mode: the dependents (``members``, the compose project's containers)
    changed or removed since the app with the labels ``app`` was deployed beside them."""
    return edited(recorded_marks(app), containers_by_service(members))


def containers_marks(members: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Container mode: the label recording the dependents' definitions, for the app."""
    return {DEPENDENT_SPECS: marks_text(containers_by_service(members))}


def marks_text(definitions: Mapping[str, str]) -> str:
    """The label value that records them: ``cache=3f…,worker=9a…``."""
    return ",".join(f"{name}={value}" for name, value in sorted(definitions.items()))


def recorded_marks(labels: Mapping[str, str]) -> dict[str, str] | None:
    """What the app's labels recorded; None when they record nothing (deployed before)."""
    text = labels.get(DEPENDENT_SPECS)
    if text is None:
        return None
    pairs = (item.partition("=") for item in text.split(",") if item)
    return {name: value for name, _, value in pairs}


def edited(recorded: Mapping[str, str] | None, live: Mapping[str, str]) -> tuple[str, ...]:
    """The services whose definition differs from the recorded one, or that are gone."""
    if recorded is None:
        return ()
    return tuple(name for name, value in sorted(recorded.items()) if live.get(name) != value)


def _mount_source(mount: Mapping[str, Any]) -> str:
    if mount.get("Type") != "volume":
        return str(mount.get("Source") or "")
    name = str(mount.get("Name") or "")
    return "" if _ANONYMOUS.fullmatch(name) else name


def _hash(projection: Any) -> str:
    canonical = json.dumps(_pruned(projection), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _pruned(value: Any) -> Any:
    """Without empty values (None, "", false, {} and []), which clients write out or leave
    out alike; 0 stays (a service scaled to 0 differs from one with no count)."""
    if isinstance(value, Mapping):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if not _empty(v)}
    if isinstance(value, list | tuple):
        items = [_pruned(v) for v in value]
        return [v for v in items if not _empty(v)]
    return value


def _empty(value: Any) -> bool:
    return value is None or value is False or value in ("", {}, [])
