"""What the Swarm tests read of a stack as it runs (its services, their images and tasks),
how they wait for Swarm to act, and the docker CLI as an operator types it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

import docker
from docker.models.services import Service

from integration.deploy_images import task_containers
from testbed.dockerd import PrivateDaemon

T = TypeVar("T")
# Appended to a file's last service (the cache): ``docker service update`` as typed waits
# out the service's update monitor before it returns, 5 s where the file sets none.
QUICK_UPDATES = "    deploy: {update_config: {monitor: 1s}}\n"


def services_of(client: docker.DockerClient, stack: str) -> dict[str, Service]:
    """The stack's services by name (without the stack's prefix)."""
    found = client.services.list(filters={"label": f"com.docker.stack.namespace={stack}"})
    return {s.name.removeprefix(stack + "_"): s for s in found}


def image_of(service: Service) -> str:
    return str(service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])


def running_tasks(service: Service) -> list[dict[str, Any]]:
    return [t for t in service.tasks() if t["Status"]["State"] == "running"]


def settled_services(client: docker.DockerClient, stack: str) -> dict[str, str]:
    """The stack's services once each runs exactly one task (a replaced one has stopped)."""
    services = services_of(client, stack)
    if any(len(running_tasks(s)) != 1 for s in services.values()):
        return {}
    return {name: image_of(s) for name, s in services.items()}


def running_services(client: docker.DockerClient, stack: str) -> dict[str, str]:
    """The stack's services that run a task, each with its image."""
    return {name: image_of(s) for name, s in services_of(client, stack).items() if running_tasks(s)}


def eventually(read: Callable[[], T], seconds: float = 30) -> T:
    """What ``read`` gives once it is truthy (Swarm acts a moment later), else its last."""
    deadline = time.monotonic() + seconds
    value = read()
    while not value and time.monotonic() < deadline:
        time.sleep(0.5)
        value = read()
    return value


def docker_cli(daemon: PrivateDaemon, *args: str) -> str:
    """The docker CLI on the test daemon, as an operator types it (it waits for the update)."""
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "DOCKER_HOST": daemon.url},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def restarted(client: docker.DockerClient, name: str, before: set[str]) -> bool:
    """A new task runs, and it alone."""
    running = [
        t
        for t in client.services.get(name).tasks()
        if t["DesiredState"] == "running" or t["Status"]["State"] == "running"
    ]
    return bool(running) and all(
        t["ID"] not in before and t["Status"]["State"] == "running" for t in running
    )


def task_env(client: docker.DockerClient, service: str) -> list[str]:
    """The MARKER of every running task of ``service`` (one per task)."""
    return sorted(
        line
        for task in task_containers(client, service)
        for line in task.attrs["Config"]["Env"]
        if line.startswith("MARKER=")
    )
