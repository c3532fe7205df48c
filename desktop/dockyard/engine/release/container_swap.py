"""A container mode deployment killed between its health gate and the swap, finished at
recovery: the healthy new container still has its temporary name."""

from __future__ import annotations

from pathlib import Path

from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.engine.deploy.container import RESTART_POLICY
from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.deploy.live import TEMPORARY_SUFFIX
from dockyard.engine.deploy.spec import RunningRelease
from dockyard.engine.endpoints.client import open_client
from dockyard.engine.endpoints.registry import EndpointRegistry

TIMEOUT = 30


def finish_container_swap(home: Path, env: EnvironmentConfig, live: RunningRelease) -> None:
    """Do what the deployer would have done, so the next deployment does not take the new
    container for a leftover."""
    if not live.name.endswith(TEMPORARY_SUFFIX) or env.mode != "container":
        return
    final = live.name.removesuffix(TEMPORARY_SUFFIX)
    client = open_client(EndpointRegistry(home).get(env.host), timeout=TIMEOUT)
    try:
        with docker_errors(f"finish replacing {final}"):
            for container in client.containers.list(all=True, filters={"name": final}):
                if container.name == final:
                    container.remove(force=True, v=True)
            new = client.containers.get(live.name)
            new.update(restart_policy=RESTART_POLICY)
            new.rename(final)
    finally:
        client.close()
