"""Container mode: one container per environment, replaced only by a healthy successor.

The new release starts beside the old one under a temporary name and takes over only
once it passed its health gate. Published ports cannot be bound twice, so then the old
container stops first and is started again if the new one fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from dockyard.core.errors import Cancelled, PipelineFailed, UserInputError
from dockyard.core.pipeline_sections import container_secrets_refused
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.definitions import containers_marks
from dockyard.engine.deploy.dependents import Dependents
from dockyard.engine.deploy.dockerops import (
    container_ports,
    docker_errors,
    ensure_image,
    files_archive,
    healthcheck_spec,
    mounts,
)
from dockyard.engine.deploy.health import Unhealthy, wait_until_healthy
from dockyard.engine.deploy.live import (
    TEMPORARY_SUFFIX,
    container_release,
    containers_running,
    environment_containers,
)
from dockyard.engine.deploy.put_back import put_back
from dockyard.engine.deploy.spec import DeploymentRequest, LogFn, RunningRelease
from dockyard.engine.endpoints.sdk_reader import SdkReader
from dockyard.engine.events import CancelToken

NETWORK = "dockyard"
RESTART_POLICY = {"Name": "unless-stopped"}


class ContainerDeployer:
    """Deploys an environment as one container on a plain Docker host."""

    def __init__(
        self, client: docker.DockerClient, cli_env: Mapping[str, str] | None = None
    ) -> None:
        self.client = client
        self.reader = SdkReader(client)
        self.cli_env = dict(cli_env or {})  # DOCKER_HOST & co. for compose (dependents)

    def deploy(self, request: DeploymentRequest, log: LogFn, cancel: CancelToken) -> RunningRelease:
        name = L.resource_name(request.repo, request.environment)
        snapshot = request.snapshot
        if snapshot.secrets:  # a release recorded before secrets needed mode: service
            raise UserInputError(container_secrets_refused(request.environment))
        with docker_errors(f"pull {request.image}"):
            ensure_image(self.client, request.image, log)
        existing = self._containers(request.repo, request.environment)
        old = next((c for c in existing if c.name == name), None)
        for leftover in (c for c in existing if c.name != name):
            log(f"Removing {leftover.name}, left over from an interrupted deployment")
            with docker_errors(f"remove {leftover.name}"):
                leftover.remove(force=True, v=True)
        cancel.raise_if_cancelled()
        dependents = Dependents(self.client, self.cli_env)  # they come first, then the app
        if snapshot.stack is None:
            release = self._replace(request, old, None, log, cancel)
            # A release without a compose file (a rollback to one from before it) has no
            # dependents: those of a later file must not keep running beside it.
            dependents.remove(request.repo, request.environment, log)
            return release
        try:
            network = dependents.up(request, log, cancel)
            members = dependents.members(request.repo, request.environment)
            return self._replace(request, old, network, log, cancel, containers_marks(members))
        except (PipelineFailed, Cancelled) as exc:
            if old is None or request.replaces is None:
                self._remove_first(old, dependents, request, log)
                raise
            # Cancelled too: nothing carries on by itself here, so the earlier release goes
            # back as the ledger records it (a short wait: its dependents' health gate).
            again = CancelToken() if cancel.cancelled else cancel
            done = self._put_back(request.replaces, dependents, log, again)
            raise type(exc)(f"{exc.message} {done}") from exc
        except BaseException:
            self._remove_first(old, dependents, request, log)
            raise

    def _remove_first(
        self, old: Container | None, dependents: Dependents, request: DeploymentRequest, log: LogFn
    ) -> None:
        if old is None:
            log("Removing the dependent services: the first release did not start")
            dependents.remove(request.repo, request.environment)

    def _put_back(
        self, earlier: DeploymentRequest, dependents: Dependents, log: LogFn, cancel: CancelToken
    ) -> str:
        """The dependents of the release that ran before, as its recorded file had them
        (none without one); its app container kept running, or was started again."""
        stack = earlier.snapshot.stack
        deploy: Callable[[], object]
        if stack is None:
            what = "no dependent service, as it had no compose file"
            deploy = partial(dependents.remove, earlier.repo, earlier.environment, log)
        else:
            what = f"its dependent services as its {stack.source} had them, beside its app"
            deploy = partial(dependents.up, earlier, log, cancel)
        project = L.resource_name(earlier.repo, earlier.environment)
        return put_back(earlier, what, deploy, lambda: _mixed(project), log)

    def _replace(
        self,
        request: DeploymentRequest,
        old: Container | None,
        network: str | None,
        log: LogFn,
        cancel: CancelToken,
        marks: Mapping[str, str] | None = None,
    ) -> RunningRelease:
        """Start the new release beside ``old`` and swap once it passed its health gate;
        ``marks``: labels recording its dependents' definitions."""
        name = L.resource_name(request.repo, request.environment)
        snapshot = request.snapshot
        new = self._create(request, name + TEMPORARY_SUFFIX, log, network, marks or {})
        stopped_old = False
        try:
            if old is not None and snapshot.ports and old.status == "running":
                log(
                    f"Stopping {name} first: its published ports ({', '.join(snapshot.ports)}) "
                    "cannot be bound twice"
                )
                with docker_errors(f"stop {name}"):
                    old.stop(timeout=_seconds(snapshot.grace))
                stopped_old = True
            log(f"Starting {new.name} ({request.image})")
            with docker_errors(f"start {new.name}"):
                new.start()
            wait_until_healthy(new, grace=snapshot.grace, cancel=cancel, log=log)
        except Unhealthy as exc:
            self._discard(new, log)
            after = self._restore(old, stopped_old, log)
            log(f"ERROR: the new release did not become healthy: {exc}; {after}")
            raise PipelineFailed(
                f"The new release of {request.environment} did not become healthy: {exc}; {after}"
            ) from exc
        except BaseException:
            self._discard(new, log)
            self._restore(old, stopped_old, log)
            raise
        if old is not None:
            log(f"Replacing {name}: stopping and removing the previous release")
            with docker_errors(f"remove the previous {name}"):
                old.stop(timeout=_seconds(snapshot.grace))
                old.remove(v=True)
        with docker_errors(f"rename {new.name} to {name}"):
            new.update(restart_policy=RESTART_POLICY)
            new.rename(name)
            new.reload()
        self._require_image(new, request)
        log(f"{name} runs {request.image}")
        return container_release(new.attrs, self.reader)

    def _require_image(self, container: Container, request: DeploymentRequest) -> None:
        """Success is recorded only when the container runs this deployment's image."""
        with docker_errors(f"inspect {request.image}"):
            expected = self.client.images.get(request.image).id
        if container.attrs.get("Image") != expected:
            raise PipelineFailed(
                f"{container.name} does not run {request.image} after the deployment (another "
                f"change replaced it); see dockyard status {request.repo}."
            )

    def inspect(self, repo: str, environment: str) -> list[RunningRelease]:
        return containers_running(self.reader, repo, environment)

    def remove(self, repo: str, environment: str) -> None:
        for container in self._containers(repo, environment):
            with docker_errors(f"remove {container.name}"):
                container.remove(force=True, v=True)
        Dependents(self.client, self.cli_env).remove(repo, environment)

    def _containers(self, repo: str, environment: str) -> list[Container]:
        found = environment_containers(self.reader, repo, environment)
        return [self.client.containers.prepare_model(attrs) for attrs in found]

    def _create(
        self,
        request: DeploymentRequest,
        name: str,
        log: LogFn,
        network: str | None,
        marks: Mapping[str, str],
    ) -> Container:
        """``network``: the compose project's, where the app is known by its service name."""
        snapshot = request.snapshot
        kwargs: dict[str, Any] = {
            "name": name,
            "labels": {**L.labels_for(request), **marks},
            "environment": dict(snapshot.env),
            # No restarts during the health gate, so a crash shows with its exit code;
            # unless-stopped is set once the release passed.
            "restart_policy": {"Name": "no"},
            "mounts": mounts(snapshot.volumes),
        }
        health = healthcheck_spec(snapshot.healthcheck)
        if health is not None:
            kwargs["healthcheck"] = health
        if snapshot.command is not None:  # as `docker run IMAGE COMMAND`: the ENTRYPOINT stays
            kwargs["command"] = list(snapshot.command)
        if snapshot.ports:
            kwargs["ports"] = container_ports(snapshot.ports)
        if network is not None and snapshot.stack is not None:
            kwargs["network"] = network
            aliases = [snapshot.stack.service]
            kwargs["networking_config"] = {
                network: self.client.api.create_endpoint_config(aliases=aliases)
            }
        elif snapshot.ports:
            kwargs["network"] = self._network()
        with docker_errors(f"create {name}"):
            try:
                container: Container = self.client.containers.create(request.image, **kwargs)
            except docker.errors.APIError as exc:
                if exc.status_code != 409:
                    raise
                raise PipelineFailed(
                    f"Another deployment to {request.environment} is in progress on this "
                    f"Docker host ({name} exists); wait for it to finish, then deploy again."
                ) from exc
        try:
            self._put_files(container, request, log)
        except BaseException:
            self._discard(container, log)
            raise
        return container

    def _put_files(self, container: Container, request: DeploymentRequest, log: LogFn) -> None:
        """Configs go in before start, so the process sees them from its first line."""
        files = {t: (f.content.encode(), 0o444) for t, f in request.snapshot.configs.items()}
        if not files:
            return
        log(f"Writing {', '.join(request.snapshot.configs)} into {container.name}")
        with docker_errors(f"copy configuration files into {container.name}"):
            container.put_archive("/", files_archive(files))

    def _network(self) -> str:
        """A user-defined bridge for published ports: the host may have no default bridge."""
        with docker_errors(f"set up the {NETWORK} network"):
            if any(n.name == NETWORK for n in self.client.networks.list(names=[NETWORK])):
                return NETWORK
            try:
                self.client.networks.create(NETWORK, driver="bridge", labels={L.MANAGED: "true"})
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # created by a concurrent deployment meanwhile
                    raise
        return NETWORK

    def _discard(self, container: Container, log: LogFn) -> None:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            log(f"WARNING: could not remove {container.name}: {exc.explanation or exc}")

    def _restore(self, old: Container | None, stopped: bool, log: LogFn) -> str:
        """Start the previous release again if we stopped it; say what runs now."""
        if old is None:
            return "nothing was running before, so nothing runs now."
        if not stopped:
            return "the previous release keeps running."
        log(f"Starting the previous release ({old.name}) again")
        try:
            old.start()
        except docker.errors.APIError as exc:
            return f"starting the previous release again failed too ({exc.explanation or exc})."
        return "the previous release was started again."


def _mixed(project: str) -> str:
    return f"the services of the compose project {project} may run either release's definition"


def _seconds(grace: float) -> int:
    return max(1, math.ceil(grace))
