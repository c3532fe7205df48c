"""Which deployer deploys an environment: one per ``mode`` of dockyard.yml."""

from __future__ import annotations

from collections.abc import Mapping

import docker

from dockyard.engine.deploy.container import ContainerDeployer
from dockyard.engine.deploy.live import unknown_mode
from dockyard.engine.deploy.service import SwarmServiceDeployer
from dockyard.engine.deploy.spec import Deployer
from dockyard.engine.deploy.stack import StackDeployer

__all__ = ["ContainerDeployer", "StackDeployer", "SwarmServiceDeployer", "deployer_for"]


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
    raise unknown_mode(mode)
