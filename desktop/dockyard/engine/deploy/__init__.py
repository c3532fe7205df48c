"""Deployers: container mode and Swarm service mode, plus the reconciler.

``deployer_for(mode, client)`` picks one; both deploy by digest, label what they create
(``LABELS``) and report what runs through ``inspect``.
"""

from __future__ import annotations

import docker

from dockyard.core.errors import UserInputError
from dockyard.engine.deploy.container import ContainerDeployer
from dockyard.engine.deploy.labels import LABELS, resource_name
from dockyard.engine.deploy.reconcile import DockerEventWatcher, drift_of
from dockyard.engine.deploy.service import SwarmServiceDeployer
from dockyard.engine.deploy.snapshot import build_snapshot, parse_env_file
from dockyard.engine.deploy.spec import (
    ConfigFile,
    ConfigSnapshot,
    Deployer,
    DeploymentRequest,
    RunningRelease,
    diff_snapshots,
)

__all__ = [
    "LABELS",
    "ConfigFile",
    "ConfigSnapshot",
    "ContainerDeployer",
    "Deployer",
    "DeploymentRequest",
    "DockerEventWatcher",
    "RunningRelease",
    "SwarmServiceDeployer",
    "build_snapshot",
    "deployer_for",
    "diff_snapshots",
    "drift_of",
    "parse_env_file",
    "resource_name",
]


def deployer_for(mode: str, client: docker.DockerClient) -> Deployer:
    if mode == "container":
        return ContainerDeployer(client)
    if mode == "service":
        return SwarmServiceDeployer(client)
    raise UserInputError(f"Unknown deployment mode {mode!r}; use container or service.")
