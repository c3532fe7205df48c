"""Service mode: a Swarm service, updated start-first and rolled back by Swarm when unhealthy.

docker-py has no rollback call: a release (or a Dockyard rollback) is always a forward
update to a digest, with ``failure_action="rollback"`` so Swarm itself puts the previous
spec back when the new tasks fail their health check during ``monitor``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import docker
import docker.auth
import docker.errors
import docker.types
from docker.models.services import Service

from dockyard.core.errors import Cancelled, PipelineFailed, UserInputError
from dockyard.core.pipeline_file import HealthcheckConfig
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy import swarm_objects
from dockyard.engine.deploy.dockerops import (
    docker_errors,
    healthcheck_spec,
    mounts,
    service_ports,
)
from dockyard.engine.deploy.live_swarm import (
    is_manager,
    service_release,
    services_running,
    spec_hash,
)
from dockyard.engine.deploy.spec import DeploymentRequest, LogFn, RunningRelease
from dockyard.engine.deploy.swarm_watch import (
    UpdateWatch,
    await_task_containers_gone,
    removed_while_deploying,
)
from dockyard.engine.endpoints.registry_auth import registry_auth
from dockyard.engine.endpoints.sdk_reader import SdkReader
from dockyard.engine.events import CancelToken

DEFAULT_MONITOR = 5.0
MIN_MONITOR = 2.0


class SwarmServiceDeployer:
    """Deploys an environment as one Swarm service on a manager node."""

    mode = "service"  # the dockyard.yml word, for messages

    def __init__(
        self,
        client: docker.DockerClient,
        *,
        monitor: float | None = None,
        timeout: float = 600.0,
        poll: float = 0.5,  # as container mode's health gate: two API calls a poll
    ) -> None:
        self.client = client
        self.reader = SdkReader(client)
        self.monitor = monitor
        self.timeout = timeout
        self.poll = poll

    def deploy(self, request: DeploymentRequest, log: LogFn, cancel: CancelToken) -> RunningRelease:
        self._require_manager(request.environment)
        name = L.resource_name(request.repo, request.environment)
        secrets = swarm_objects.ensure_secrets(self.client, request, name, log)
        configs = swarm_objects.ensure_configs(self.client, request, name, log)
        spec = self._spec(request, name, secrets, configs)
        existing = self._find(name)
        self._hand_over_registry_auth(request.image)
        monitor = self._monitor(request.snapshot.healthcheck)
        watch = UpdateWatch(self.client, name, request, log, poll=self.poll, monitor=monitor)

        def roll_out() -> None:
            if existing is None:
                log(f"Creating the Swarm service {name} ({request.image})")
                with docker_errors(f"create the service {name}"):
                    self.client.api.create_service(name=name, **spec)
                watch.until_created(self._deadline(), cancel)
            else:
                log(f"Updating the Swarm service {name} to {request.image} (start-first)")
                previous = (existing.attrs.get("UpdateStatus") or {}).get("StartedAt")
                with docker_errors(f"update the service {name}"):
                    self.client.api.update_service(existing.id, existing.version, name=name, **spec)
                watch.until_updated(previous, self._deadline(), cancel)

        def remove_first() -> str:
            log(f"Removing {name}: its first release never became healthy")
            self._remove_service(name)
            return ""

        return self._settled(request, name, roll_out, None if existing else remove_first, log)

    def _settled(
        self,
        request: DeploymentRequest,
        name: str,
        roll_out: Callable[[], None],
        after_failure: Callable[[], str] | None,
        log: LogFn,
    ) -> RunningRelease:
        """Roll out and wait; when that failed, ``after_failure`` removes a first release or
        puts the earlier one back, and returns a sentence for the failure when it has one;
        the secret and config versions no service uses any more go either way."""
        try:
            roll_out()
        except PipelineFailed as exc:
            done = after_failure() if after_failure is not None else ""
            swarm_objects.remove_unused(self.client, request.repo, request.environment, log)
            if done:
                raise PipelineFailed(f"{exc.message} {done}") from exc
            raise
        except Cancelled:
            log("Stopped waiting; Swarm carries on with the update by itself")
            raise
        swarm_objects.remove_unused(self.client, request.repo, request.environment, log)
        service = self._find(name)
        if service is None:
            raise PipelineFailed(removed_while_deploying(name))
        return service_release(service.attrs, self.reader, stack=self.mode == "stack")

    def inspect(self, repo: str, environment: str) -> list[RunningRelease]:
        return services_running(self.reader, repo, environment, stack=self.mode == "stack")

    def remove(self, repo: str, environment: str) -> None:
        if not self._is_manager():
            return
        with docker_errors("list services"):
            services = self.client.services.list(filters=L.selector(repo, environment))
        self._remove_services(str(service.name) for service in services)
        swarm_objects.remove_all(self.client, repo, environment)

    def _hand_over_registry_auth(self, image: str) -> None:
        """Let the Swarm nodes pull ``image`` with the keyring's credentials.

        docker-py's create/update_service have no ``auth_config``: they send the
        X-Registry-Auth header (which Swarm keeps with the service for its tasks' pulls)
        from the client's own auth store. This client belongs to this deployment only, so
        the keyring's login is added to that store; without one, docker-py reads
        ``~/.docker/config.json`` as usual.
        """
        if "@" not in image:
            return  # a local image id: no registry involved
        auth = registry_auth(image)
        if auth is None:
            return
        registry, _ = docker.auth.resolve_repository_name(image)
        configs = self.client.api._auth_configs
        if configs.is_empty:  # keep what config.json holds for other registries
            configs = self.client.api._auth_configs = docker.auth.load_config(
                credstore_env=self.client.api.credstore_env
            )
        configs.add_auth(registry, auth)

    def _deadline(self) -> float:
        return time.monotonic() + self.timeout

    def _is_manager(self) -> bool:
        return is_manager(self.reader)

    def _require_manager(self, environment: str) -> None:
        if not self._is_manager():
            raise UserInputError(
                f"Environment {environment} uses mode: {self.mode}, but its Docker host is not a "
                "Swarm manager; run `docker swarm init` there (or deploy to a manager), or "
                "set mode: container in dockyard.yml."
            )

    def _find(self, name: str) -> Service | None:
        with docker_errors("list services"):
            found = self.client.services.list(filters={"name": name})
        return next((s for s in found if s.name == name), None)

    def _spec(
        self,
        request: DeploymentRequest,
        name: str,
        secrets: list[docker.types.SecretReference],
        configs: list[docker.types.ConfigReference],
    ) -> dict[str, Any]:
        snapshot = request.snapshot
        labels = L.labels_for(request)
        env = [f"{k}={v}" for k, v in sorted(snapshot.env.items())]
        health = healthcheck_spec(snapshot.healthcheck)
        ports = service_ports(snapshot.ports)
        container = docker.types.ContainerSpec(
            request.image,
            # Args, as `docker service create IMAGE COMMAND`: it replaces CMD, not ENTRYPOINT.
            args=list(snapshot.command) if snapshot.command is not None else None,
            env=env,
            # On the task containers too, so the event watcher sees them start and stop.
            labels=dict(labels),
            mounts=mounts(snapshot.volumes),
            secrets=secrets,
            configs=configs,
            healthcheck=docker.types.Healthcheck(**health) if health else None,
            stop_grace_period=int(math.ceil(snapshot.grace) * 1e9),
        )
        labels[L.SPEC] = spec_hash(container, ports, snapshot.replicas)
        monitor = int(self._monitor(snapshot.healthcheck) * 1e9)
        return {
            "task_template": docker.types.TaskTemplate(container),
            "labels": labels,
            "mode": docker.types.ServiceMode("replicated", replicas=snapshot.replicas),
            "update_config": docker.types.UpdateConfig(
                parallelism=1, order="start-first", failure_action="rollback", monitor=monitor
            ),
            "rollback_config": docker.types.RollbackConfig(
                parallelism=1, order="start-first", failure_action="pause", monitor=monitor
            ),
            "endpoint_spec": docker.types.EndpointSpec(mode="vip", ports=ports),
        }

    def _monitor(self, health: HealthcheckConfig | None) -> float:
        """How long Swarm watches each new task for failure before moving on.

        Tasks only count as running once healthy; the monitor catches a crash right after.
        """
        if self.monitor is not None:
            return self.monitor
        if health is None:
            return DEFAULT_MONITOR
        return max(MIN_MONITOR, min(DEFAULT_MONITOR, 2 * health.interval))

    def _remove_service(self, name: str) -> None:
        self._remove_services([name])

    def _remove_services(self, names: Iterable[str]) -> None:
        """Remove the services, then wait until their task containers are gone: they stop
        side by side, within one grace period rather than one after the other."""
        removed = []
        for name in names:
            service = self._find(name)
            if service is None:
                continue
            with docker_errors(f"remove the service {name}"):
                service.remove()
            removed.append(service)
        for service in removed:
            with docker_errors(f"remove the service {service.name}"):
                await_task_containers_gone(self.client, f"com.docker.swarm.service.id={service.id}")
