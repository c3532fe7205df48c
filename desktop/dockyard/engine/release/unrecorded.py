"""Deployments the daemons run that the store knows nothing of (the database was deleted,
replaced or is new on this desktop).

Every container and service Dockyard deploys carries its labels (engine/deploy/labels.py),
so what runs can be listed without the store. Dockyard does not record them as its own:
a ledger entry it never made would be a release nobody approved. The user restores the
store from a backup, or runs the release's pipeline again (docs/troubleshooting.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import DockyardError
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.live import SWARM_TASK_LABEL, labels_of, name_of
from dockyard.engine.endpoints.daemon_reader import (
    DaemonReader,
    DaemonRefused,
    DaemonUnanswered,
    Filters,
)
from dockyard.engine.endpoints.reading import reading
from dockyard.engine.endpoints.registry import EndpointRegistry

log = logging.getLogger("dockyard.releases")
LOOK_TIMEOUT = 15


@dataclass(frozen=True)
class LabelledDeployment:
    repo: str
    environment: str
    host: str  # the endpoint's name
    release: str  # the tag, else the short commit
    name: str  # container or service name

    def describe(self) -> str:
        return f"{self.environment} of {self.repo} runs {self.release} on {self.host} ({self.name})"


def labelled_deployments(home: Path, repo: str | None = None) -> list[LabelledDeployment]:
    """What every reachable endpoint runs with Dockyard's labels (of ``repo``, or of any)."""
    selector = {"label": f"{L.REPO}={repo}" if repo else L.REPO}
    found: list[LabelledDeployment] = []
    for endpoint in EndpointRegistry(home).list():
        try:
            with reading(endpoint, timeout=LOOK_TIMEOUT) as reader:
                objects = _labelled(reader, selector)
        except DockyardError as exc:
            log.info("not asking %s for labelled deployments: %s", endpoint.name, exc)
            continue
        except (DaemonRefused, DaemonUnanswered) as exc:
            log.info("could not list what %s runs: %s", endpoint.name, exc)
            continue
        found += [
            LabelledDeployment(
                labels.get(L.REPO, ""),
                labels.get(L.ENVIRONMENT, ""),
                endpoint.name,
                labels.get(L.RELEASE, "") or "an unknown release",
                name,
            )
            for name, labels in objects
        ]
    return found


def _labelled(reader: DaemonReader, selector: Filters) -> list[tuple[str, dict[str, str]]]:
    """Running containers (not Swarm tasks) and services with the labels, by name."""
    objects = [
        (name_of(c), labels_of(c))
        for c in reader.containers(selector)
        if (c.get("State") or {}).get("Running") and SWARM_TASK_LABEL not in labels_of(c)
    ]
    try:
        services = reader.services(selector)
    except DaemonRefused:
        services = []  # not a Swarm manager
    return objects + [
        (str(s["Spec"].get("Name", "")), s["Spec"].get("Labels", {})) for s in services
    ]
