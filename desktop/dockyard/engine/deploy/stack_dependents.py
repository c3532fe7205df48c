"""A stack's services besides the app: each must run its replicas, steadily for a monitor
period (as Swarm watches an update), or the deployment fails naming it.

They are watched while Swarm rolls out the app as well (``observe``), so a dependent that
has run steadily since is not kept waiting for a monitor period of its own afterwards; a
failure is judged once the app is out (``waiting``). A dependent whose update Swarm
completed has been watched by Swarm for the update's own monitor period: that counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
from docker.models.services import Service

from dockyard.core.errors import PipelineFailed
from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.deploy.exits import log_output, output_phrase
from dockyard.engine.deploy.restarts import FAILED_TASK_STATES
from dockyard.engine.deploy.spec import LogFn
from dockyard.engine.deploy.swarm_watch import service_removed, task_failure

SWARM_MONITOR = 5.0  # an update's monitor period where its service does not set one


class DependentsWatch:
    def __init__(
        self,
        client: docker.DockerClient,
        services: Callable[[], list[Service]],
        stack: str,
        dependents: set[str],
        *,
        window: float,
        log: LogFn,
    ) -> None:
        """Made before the stack is deployed: what failed and what updated before is not this
        release's."""
        self.client = client
        self.services = services  # the stack's services as they are now
        self.stack = stack
        self.dependents = dependents
        self.window = window
        self.log = log
        self._steady_since: dict[str, float] = {}
        self._told: set[str] = set()
        self.failed_before: set[str] = set()
        self._updates_before: dict[str, object] = {}
        for service in services():
            with docker_errors(f"list the tasks of {service.name}"):
                tasks = service.tasks()
            self.failed_before |= {
                t["ID"] for t in tasks if t["Status"]["State"] in FAILED_TASK_STATES
            }
            self._updates_before[str(service.name)] = _update(service).get("StartedAt")

    def observe(self) -> None:
        """Note which dependents run (while the app rolls out); judge nothing yet."""
        self._pass(judge=False)

    def waiting(self) -> list[str]:
        """The dependents that do not run steadily yet; raises when one failed, Swarm rolled
        it back or paused it, or it was removed meanwhile."""
        return self._pass(judge=True)

    def _pass(self, *, judge: bool) -> list[str]:
        waiting = []
        now = time.monotonic()
        services = self.services()
        gone = sorted(self.dependents - {str(s.name) for s in services})
        if gone and judge:
            raise self._removed(gone[0])
        for service in services:
            name = str(service.name)
            if name not in self.dependents:
                continue
            if not self._converged(service, judge):
                self._steady_since.pop(name, None)
                waiting.append(name)
                continue
            since = self._steady_since.setdefault(name, now - self._monitored(service))
            if now - since < self.window:
                waiting.append(name)
            elif name not in self._told and judge:
                self.log(f"{name}: running")
                self._told.add(name)
        return waiting

    def _monitored(self, service: Service) -> float:
        """How long Swarm watched the service's tasks before it completed an update this
        release made (its update's monitor period), else 0."""
        update = _update(service)
        before = self._updates_before.get(str(service.name))
        if update.get("State") != "completed" or update.get("StartedAt") == before:
            return 0.0
        config = service.attrs["Spec"].get("UpdateConfig") or {}
        return float(config.get("Monitor") or SWARM_MONITOR * 1e9) / 1e9

    def _converged(self, service: Service, judge: bool) -> bool:
        spec = service.attrs["Spec"]
        with docker_errors(f"list the tasks of {service.name}"):
            try:
                tasks = service.tasks()
            except docker.errors.NotFound:
                if not judge:
                    return False
                raise self._removed(str(service.name)) from None
        update = _update(service)
        state = str(update.get("State", ""))
        failed = [
            t
            for t in tasks
            if t["Status"]["State"] in FAILED_TASK_STATES and t["ID"] not in self.failed_before
        ]
        mode = spec.get("Mode") or {}
        replicas = 1 if "Global" in mode else int((mode.get("Replicated") or {}).get("Replicas", 1))
        if state in ("rollback_completed", "rollback_paused", "paused") or len(failed) > replicas:
            if not judge:
                return False
            why = str(update.get("Message") or state)
            if failed:
                latest = max(failed, key=lambda t: str(t["Status"].get("Timestamp", "")))
                reason, lines = task_failure(self.client, latest)
                log_output(lines, self.log)
                why = reason + output_phrase(lines)
            raise PipelineFailed(
                f"The service {service.name} of the stack {self.stack} did not start: {why}; "
                f"see docker service ps {service.name}."
            )
        if state in ("updating", "rollback_started"):
            return False
        running = sum(
            1 for t in tasks if t["DesiredState"] == "running" and t["Status"]["State"] == "running"
        )
        return running >= replicas

    def _removed(self, name: str) -> PipelineFailed:
        return service_removed(self.client, name, self.log, (
            f"The service {name} of the stack {self.stack} was removed while it was being "
            "deployed (by hand or another tool), so this release is not deployed whole; deploy "
            "again."
        ))  # fmt: skip


def _update(service: Service) -> dict[str, Any]:
    return dict(service.attrs.get("UpdateStatus") or {})
