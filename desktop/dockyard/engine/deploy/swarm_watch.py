"""Await a Swarm service until it converged, failed, or Swarm rolled it back.

Swarm reports an update in ``UpdateStatus`` (``updating`` → ``completed``, or
``rollback_started`` → ``rollback_completed``); a freshly created service has none, so
its tasks are watched instead. Tasks of this deployment are recognised by the
``dockyard.deployment`` label on their container spec. A service removed meanwhile (by hand
or another tool) fails the deployment at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.models.services import Service

from dockyard.core.errors import PipelineFailed
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.deploy.exits import (
    exit_phrase,
    last_probe,
    log_output,
    output_phrase,
    task_logs,
)
from dockyard.engine.deploy.restarts import FAILED_TASK_STATES
from dockyard.engine.deploy.spec import DeploymentRequest, LogFn
from dockyard.engine.events import CancelToken, wait_or_cancel

# An update Swarm has not picked up yet looks like the previous one for a moment.
QUIET_PERIOD = 5.0
# A removed service's task containers stop in the background, within their grace period.
REMOVAL_WAIT = 60.0
SERVICE_NAME = "com.docker.swarm.service.name"  # on every task container


class UpdateWatch:
    def __init__(
        self,
        client: docker.DockerClient,
        name: str,
        request: DeploymentRequest,
        log: LogFn,
        *,
        poll: float,
        monitor: float = 0.0,
        meanwhile: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.name = name
        self.request = request
        self.log = log
        self.poll = poll
        self.monitor = monitor
        self.meanwhile = meanwhile  # called at every poll (stack mode: the other services)
        self._seen: dict[str, str] = {}
        self._status = ""

    def until_created(self, deadline: float, cancel: CancelToken) -> None:
        """All tasks run and none failed for ``monitor`` seconds, as an update's tasks must
        (a first release has no update for Swarm to monitor)."""
        replicas = self.request.snapshot.replicas
        running_since: float | None = None
        while True:
            tasks = self._tasks()
            if self._running(tasks) < replicas:
                running_since = None
            elif running_since is None:
                running_since = time.monotonic()
            if running_since is not None and time.monotonic() - running_since >= self.monitor:
                self.log(f"{self.name}: {replicas} of {replicas} running")
                return
            failed = [t for t in tasks if t["Status"]["State"] in FAILED_TASK_STATES]
            if len(failed) > replicas:  # Swarm restarted it and it failed again
                raise PipelineFailed(
                    f"The first release of {self.request.environment} did not become healthy: "
                    f"{self._failure(failed)}; the service was removed."
                )
            self._check_time(deadline)
            self.meanwhile()
            wait_or_cancel(cancel, self.poll)

    def until_updated(self, previous: str | None, deadline: float, cancel: CancelToken) -> None:
        quiet_until = time.monotonic() + QUIET_PERIOD
        while True:
            service = self._service()
            status: dict[str, Any] = service.attrs.get("UpdateStatus") or {}
            tasks = self._tasks(service)
            if status and status.get("StartedAt") != previous:
                if self._settled(status, tasks) and self._runs_ours(service, tasks):
                    return
            elif time.monotonic() > quiet_until and self._runs_ours(service, tasks):
                return  # nothing for Swarm to roll: the tasks already run this spec
            self._check_time(deadline)
            self.meanwhile()
            wait_or_cancel(cancel, self.poll)

    def _runs_ours(self, service: Service, tasks: list[dict[str, Any]]) -> bool:
        """Whether the service runs this deployment's digest; raises when another update
        (another deployment, a hand edit) replaced it, so it is never recorded as done."""
        spec = service.attrs["Spec"]
        mine = str(self.request.deployment_id)
        theirs = (spec.get("Labels") or {}).get(L.DEPLOYMENT, "")
        image = str(spec["TaskTemplate"]["ContainerSpec"].get("Image", ""))
        if theirs != mine or not image.endswith(self.request.digest):
            other = theirs.isdigit() and theirs != mine
            by = f"deployment {theirs}" if other else "a change outside Dockyard"
            message = (
                f"The service {self.name} was changed by {by} before this deployment finished, "
                f"so {self.request.environment} does not run {self.request.digest[:19]}; see "
                f"dockyard status {self.request.repo}."
            )
            self.log(f"ERROR: {message}")
            raise PipelineFailed(message)
        return self._running(tasks) >= self._replicas()

    def _settled(self, status: dict[str, Any], tasks: list[dict[str, Any]]) -> bool:
        state = str(status.get("State", ""))
        if state != self._status:
            self._status = state
            self.log(f"Swarm: {status.get('Message') or state}")
        if state == "completed":
            return True
        if state not in ("rollback_completed", "rollback_paused", "paused"):
            return False
        failed = [t for t in tasks if t["Status"]["State"] in FAILED_TASK_STATES]
        reason = self._failure(failed) if failed else str(status.get("Message") or state)
        after = {
            "rollback_completed": "Swarm rolled back to the previous release.",
            "rollback_paused": "Swarm's rollback to the previous release did not complete "
            f"either; check docker service ps {self.name}.",
            "paused": f"Swarm paused the update; check docker service ps {self.name}.",
        }[state]
        self.log(f"ERROR: the new release did not become healthy: {reason}; {after}")
        raise PipelineFailed(
            f"The new release of {self.request.environment} did not become healthy: {reason}; "
            f"{after}"
        )

    def _service(self) -> Service:
        with docker_errors(f"inspect the service {self.name}"):
            try:
                return self.client.services.get(self.name)
            except docker.errors.NotFound:
                raise self._removed() from None

    def _removed(self) -> PipelineFailed:
        return service_removed(self.client, self.name, self.log)

    def _replicas(self) -> int:
        return self.request.snapshot.replicas

    def _tasks(self, service: Service | None = None) -> list[dict[str, Any]]:
        """This deployment's tasks; their state changes go to the log."""
        service = service or self._service()
        with docker_errors(f"list the tasks of {self.name}"):
            try:
                tasks = service.tasks()
            except docker.errors.NotFound:
                raise self._removed() from None
        mine = str(self.request.deployment_id)
        ours = [
            t
            for t in tasks
            if (t["Spec"]["ContainerSpec"].get("Labels") or {}).get(L.DEPLOYMENT) == mine
        ]
        for task in ours:
            state = task["Status"]["State"]
            if self._seen.get(task["ID"]) != state:
                self._seen[task["ID"]] = state
                error = task["Status"].get("Err")
                self.log(
                    f"task {task.get('Slot', '?')}: {state}" + (f" ({error})" if error else "")
                )
        return ours

    def _running(self, tasks: list[dict[str, Any]]) -> int:
        return sum(
            1 for t in tasks if t["DesiredState"] == "running" and t["Status"]["State"] == "running"
        )

    def _failure(self, failed: list[dict[str, Any]]) -> str:
        """Why the latest failed task ended: exit code (or Swarm's words) and last output."""
        task = max(failed, key=lambda t: str(t["Status"].get("Timestamp", "")))
        reason, lines = task_failure(self.client, task)
        log_output(lines, self.log)
        return reason + output_phrase(lines)

    def _check_time(self, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise PipelineFailed(
                f"The service {self.name} did not settle in time; Swarm keeps trying by itself: "
                f"see docker service ps {self.name}."
            )


def service_removed(
    client: docker.DockerClient, name: str, log: LogFn, message: str = ""
) -> PipelineFailed:
    """The failure of a deployment whose service ``name`` was removed meanwhile, returned
    once its task containers are gone too."""
    message = message or removed_while_deploying(name)
    log(f"ERROR: {message}")
    with docker_errors(f"list the task containers of {name}"):
        await_task_containers_gone(client, f"{SERVICE_NAME}={name}")
    return PipelineFailed(message)


def removed_while_deploying(name: str) -> str:
    return (
        f"The service {name} was removed while it was being deployed (by hand or another "
        "tool); nothing of this release runs; deploy again."
    )


def await_task_containers_gone(client: docker.DockerClient, label: str) -> None:
    """Wait (at most ``REMOVAL_WAIT``) until no container has ``label``: a removed service's
    task containers stop in the background, so none is left behind."""
    deadline = time.monotonic() + REMOVAL_WAIT
    # The low-level list: containers.list inspects each one, and a task container
    # removed meanwhile would fail it with "No such container".
    while client.api.containers(all=True, filters={"label": label}):
        if time.monotonic() > deadline:
            return
        time.sleep(0.3)


def task_failure(client: docker.DockerClient, task: dict[str, Any]) -> tuple[str, list[str]]:
    """``it exited with code 3 (Swarm: task: non-zero exit (3))`` and the task's last lines.

    A task Swarm stopped as unhealthy is unhealthy: one that ends cleanly (0) at the
    SIGTERM leaves Swarm only "finished", so for a clean end its container's health (while
    the container is still there) decides too. An app that exited non-zero by itself is
    reported by its exit code, whatever its last probe said."""
    status = task["Status"]
    swarm = str(status.get("Err") or status.get("Message") or status.get("State"))
    container = status.get("ContainerStatus") or {}
    code = container.get("ExitCode")
    health = _health_of(client, str(container.get("ContainerID") or ""))
    if "unhealthy" in swarm or (code == 0 and health.get("Status") == "unhealthy"):
        probe = f": {last_probe(health)}" if health else ""
        said = f"Swarm: {swarm}" if "unhealthy" in swarm else "Swarm stopped it"
        reason = f"its health check failed{probe} ({said})"
    elif code is None:
        reason = swarm
    elif not container.get("ContainerID"):  # rejected before a container ran (no image)
        reason = f"Swarm could not start it ({swarm})"
    else:
        reason = f"{exit_phrase(int(code))} (Swarm: {swarm})"
    return reason, task_logs(client, str(task["ID"]))


def _health_of(client: docker.DockerClient, container_id: str) -> dict[str, Any]:
    """The task container's ``State.Health``; empty without a health check, or when the
    container ran on another node or is gone."""
    if not container_id:
        return {}
    try:
        state = client.api.inspect_container(container_id).get("State") or {}
    except (docker.errors.APIError, requests.exceptions.RequestException):
        return {}
    return dict(state.get("Health") or {})
