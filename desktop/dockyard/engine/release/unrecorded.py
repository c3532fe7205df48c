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

import docker.errors

from dockyard.core.errors import DockyardError
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.container import SWARM_TASK_LABEL
from dockyard.engine.endpoints.registry import EndpointRegistry, open_client

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
    selector = f"{L.REPO}={repo}" if repo else L.REPO
    found: list[LabelledDeployment] = []
    for endpoint in EndpointRegistry(home).list():
        try:
            client = open_client(endpoint, timeout=LOOK_TIMEOUT)
        except DockyardError as exc:
            log.info("not asking %s for labelled deployments: %s", endpoint.name, exc)
            continue
        try:
            objects = [
                (c.name, c.labels)
                for c in client.containers.list(filters={"label": selector})
                if SWARM_TASK_LABEL not in c.labels
            ]
            try:
                services = client.services.list(filters={"label": selector})
            except docker.errors.APIError:
                services = []  # not a Swarm manager
            objects += [(s.name, s.attrs["Spec"].get("Labels", {})) for s in services]
        except docker.errors.DockerException as exc:
            log.info("could not list what %s runs: %s", endpoint.name, exc)
            continue
        finally:
            client.close()
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
