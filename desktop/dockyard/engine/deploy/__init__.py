"""Deployers: container mode, Swarm service mode and stack mode, plus the reconciler.

``deployer_for(mode, client)`` picks one; each deploys by digest, labels what it creates
(``LABELS``) and reports what runs through ``inspect``.
"""

from __future__ import annotations

from collections.abc import Mapping

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
from dockyard.engine.deploy.stack import StackDeployer

__all__ = [
    "LABELS",
    "ConfigFile",
    "ConfigSnapshot",
    "ContainerDeployer",
    "Deployer",
    "DeploymentRequest",
    "DockerEventWatcher",
    "RunningRelease",
    "StackDeployer",
    "SwarmServiceDeployer",
    "build_snapshot",
    "deployer_for",
    "diff_snapshots",
    "drift_of",
    "parse_env_file",
    "resource_name",
]


def deployer_for(
    mode: str, client: docker.DockerClient, cli_env: Mapping[str, str] | None = None
) -> Deployer:
    """``cli_env`` points the docker CLI at the same endpoint (stack mode deploys with it)."""
    if mode == "container":
        return ContainerDeployer(client, cli_env)
    if mode == "service":
        return SwarmServiceDeployer(client)
    if mode == "stack":
        return StackDeployer(client, cli_env)
    raise UserInputError(f"Unknown deployment mode {mode!r}; use container, service or stack.")
