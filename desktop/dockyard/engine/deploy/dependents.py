"""Container mode with a compose file: the app's dependent services, one project per environment.

The environment's compose file (recorded with the release, like a stack's) is run with
compose as project ``dy-…-env``, without its app service, on a network of the same name
that Dockyard makes; the app container then joins that network under its service name.
So dependents and app find each other as in ``docker compose up``, and ``--remove-orphans``
removes services a release no longer has (a rollback puts the earlier file back whole).
Their images are pulled first, with the registry logins Dockyard finds, so compose pulls none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from dockyard.core.errors import PipelineFailed
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.deploy_cli import run_on_file
from dockyard.engine.deploy.dockerops import docker_errors, ensure_image
from dockyard.engine.deploy.health import Unhealthy, wait_until_healthy
from dockyard.engine.deploy.live import COMPOSE_PROJECT, COMPOSE_SERVICE, project_containers
from dockyard.engine.deploy.spec import DeploymentRequest, LogFn
from dockyard.engine.deploy.stack_diff import apply_pins
from dockyard.engine.deploy.stack_file import at_least, dump, load_stack
from dockyard.engine.endpoints.sdk_reader import SdkReader
from dockyard.engine.events import CancelToken
from dockyard.engine.pipeline.compose import compose_command


class Dependents:
    """The dependent services of one environment's compose project."""

    def __init__(self, client: docker.DockerClient, cli_env: Mapping[str, str]) -> None:
        self.client = client
        self.cli_env = dict(cli_env)

    def up(self, request: DeploymentRequest, log: LogFn, cancel: CancelToken) -> str:
        """Start (or update) the dependents, wait until each is healthy; the network's name."""
        stack = request.snapshot.stack
        assert stack is not None
        project = L.resource_name(request.repo, request.environment)
        network = self._network(project)
        document = load_stack(stack.content, stack.source, swarm=False)
        services: dict[str, Any] = document["services"]
        services.pop(stack.service)
        apply_pins(services, stack.pins)
        for spec in services.values():
            _forget(spec, stack.service)
        if not services:
            self._remove_containers(project, log)
            return network
        document["networks"] = {"default": {"external": True, "name": network}}
        # The first versions that name a network: 2.1 and 3.5.
        at_least(document, "3.5" if str(document.get("version", "3")).startswith("3") else "2.1")
        self._pull(services, log)
        log(f"Starting {', '.join(services)} of {stack.source} (compose project {project})")
        self._compose(project, dump(document), request, log)
        for container in self._containers(project):
            name = container.labels.get(COMPOSE_SERVICE, container.name)
            try:
                wait_until_healthy(container, grace=request.snapshot.grace, cancel=cancel, log=log)
            except Unhealthy as exc:
                raise PipelineFailed(
                    f"The service {name} of {request.environment} did not start: {exc}; the "
                    f"release was not deployed, see docker-compose -p {project} ps."
                ) from exc
        return network

    def members(self, repo: str, environment: str) -> list[dict[str, Any]]:
        """The project's containers as the daemon reports them (none without a compose file)."""
        return project_containers(SdkReader(self.client), L.resource_name(repo, environment))

    def remove(self, repo: str, environment: str, log: LogFn = lambda _: None) -> None:
        project = L.resource_name(repo, environment)
        self._remove_containers(project, log)
        with docker_errors(f"remove the network {project}"):
            for network in self.client.networks.list(names=[project]):
                if network.name == project:
                    network.remove()

    def _network(self, project: str) -> str:
        with docker_errors(f"set up the network {project}"):
            if not any(n.name == project for n in self.client.networks.list(names=[project])):
                labels = {L.MANAGED: "true", COMPOSE_PROJECT: project}
                self.client.networks.create(project, driver="bridge", labels=labels)
        return project

    def _containers(self, project: str) -> list[Container]:
        found = project_containers(SdkReader(self.client), project)
        return [self.client.containers.prepare_model(attrs) for attrs in found]

    def _remove_containers(self, project: str, log: LogFn) -> None:
        for container in self._containers(project):
            log(f"Removing {container.name}: the release has no such service")
            with docker_errors(f"remove {container.name}"):
                container.remove(force=True, v=True)

    def _pull(self, services: Mapping[str, Any], log: LogFn) -> None:
        """Pull the dependents' images the host lacks with the registry logins Dockyard
        finds (its own first): compose would pull them knowing only the Docker CLI's."""
        for spec in services.values():
            image = str(spec.get("image") or "")
            if not image or "$" in image:
                continue  # built, or named by a variable: compose's
            if "@" not in image and ":" not in image.rsplit("/", 1)[-1]:
                image += ":latest"
            with docker_errors(f"pull {image}"):
                ensure_image(self.client, image, log)

    def _compose(self, project: str, text: str, request: DeploymentRequest, log: LogFn) -> None:
        run_on_file(
            lambda path: [
                *compose_command(), "--project-name", project, "--file", str(path),
                "up", "--detach", "--remove-orphans", "--no-build",
            ],
            text,
            what="compose",
            environment=request.environment,
            cli_env=self.cli_env,
            image=request.image,
            log=log,
        )  # fmt: skip


def _forget(spec: dict[str, Any], app: str) -> None:
    """A dependent's ``depends_on`` the app: the app is started by Dockyard, after them."""
    depends = spec.get("depends_on")
    if isinstance(depends, list) and app in depends:
        depends.remove(app)
    elif isinstance(depends, dict):
        depends.pop(app, None)
    if depends == [] or depends == {}:
        spec.pop("depends_on")
