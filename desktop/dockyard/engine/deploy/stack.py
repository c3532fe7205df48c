"""Stack mode: a compose file deployed as a Swarm stack, the app service pinned by digest.

``docker stack deploy --prune`` is given the file recorded with the release (see
``stack_file``), so every compose key works as Swarm documents it and a rollback puts the
earlier release back as a whole: its services, as that file had them. The app service is
watched like service mode (start-first, Swarm rolls it back when unhealthy); every other
service of the stack must then run its replicas, or the deployment fails naming it.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial

import docker
import docker.errors
from docker.models.services import Service

from dockyard.core.errors import (
    DockyardError,
    InfrastructureError,
    PipelineFailed,
    UserInputError,
)
from dockyard.engine.deploy import definitions, swarm_objects
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.deploy_cli import run_on_file
from dockyard.engine.deploy.dockerops import check_pull_login, docker_errors, wait_or_cancel
from dockyard.engine.deploy.live_swarm import NAMESPACE, spec_hash, stack_services
from dockyard.engine.deploy.put_back import put_back
from dockyard.engine.deploy.reconcile import short_digest
from dockyard.engine.deploy.service import SwarmServiceDeployer
from dockyard.engine.deploy.spec import DeploymentRequest, LogFn, RunningRelease
from dockyard.engine.deploy.stack_dependents import DependentsWatch
from dockyard.engine.deploy.stack_file import service_images, stack_document
from dockyard.engine.deploy.swarm_watch import UpdateWatch, await_task_containers_gone
from dockyard.engine.endpoints.cli_config import config_with_logins
from dockyard.engine.events import CancelToken

NETWORK_WAIT = 30.0
MARK_WAIT = 30.0


class StackDeployer(SwarmServiceDeployer):
    """Deploys an environment as a Swarm stack named like its resources (``dy-…-env``)."""

    mode = "stack"

    def __init__(
        self,
        client: docker.DockerClient,
        cli_env: Mapping[str, str] | None = None,
        *,
        monitor: float | None = None,
        timeout: float = 600.0,
        poll: float = 0.5,
    ) -> None:
        super().__init__(client, monitor=monitor, timeout=timeout, poll=poll)
        self.cli_env = dict(cli_env or {})  # DOCKER_HOST & co. of the endpoint

    def deploy(self, request: DeploymentRequest, log: LogFn, cancel: CancelToken) -> RunningRelease:
        snapshot = request.snapshot
        stack_file = snapshot.stack
        if stack_file is None:
            raise UserInputError(
                f"This release of {request.environment} was recorded without a compose file "
                "(in another mode), so it cannot be deployed as a stack; release a commit "
                "whose dockyard.yml gives the environment mode: stack and compose."
            )
        self._require_manager(request.environment)
        stack = L.resource_name(request.repo, request.environment)
        app = f"{stack}_{stack_file.service}"
        after_failure = self._after_failure(request, stack, app, log, cancel)
        roll_out = partial(self._roll_out, request, stack, log, cancel)
        return self._settled(request, app, roll_out, after_failure, log)

    def _after_failure(
        self, request: DeploymentRequest, stack: str, app: str, log: LogFn, cancel: CancelToken
    ) -> Callable[[], str] | None:
        """What follows a failure: the release that ran before is put back as a whole; a
        first release is removed; else Swarm's rollback of the app is all there is."""
        earlier = request.replaces
        if earlier is not None and earlier.snapshot.stack is not None and self._services(stack):
            return lambda: self._put_back(earlier, stack, log, cancel)
        if self._find(app) is not None:
            return None

        def remove_first() -> str:
            log(f"Removing the stack {stack}: its first release never became healthy")
            self._remove_stack(stack)
            return ""

        return remove_first

    def _roll_out(
        self, request: DeploymentRequest, stack: str, log: LogFn, cancel: CancelToken
    ) -> None:
        """Deploy the release's file as the stack and wait until it runs (or fails)."""
        snapshot = request.snapshot
        assert snapshot.stack is not None
        app = f"{stack}_{snapshot.stack.service}"
        secrets = swarm_objects.ensure_secrets(self.client, request, stack, log)
        configs = swarm_objects.ensure_configs(self.client, request, stack, log)
        monitor = self._monitor(snapshot.healthcheck)
        text = stack_document(request, secrets, configs, monitor)
        images = service_images(text, request.image)
        services = {f"{stack}_{name}" for name in images}
        existing = self._find(app)
        previous = (existing.attrs.get("UpdateStatus") or {}).get("StartedAt") if existing else None
        dependents = DependentsWatch(
            self.client, partial(self._services, stack), stack, services - {app},
            window=self._monitor(None), log=log,
        )  # fmt: skip
        # A first release has no update for Swarm to monitor: the watch holds it as long.
        watch = UpdateWatch(self.client, app, request, log, poll=self.poll, monitor=monitor,
                            meanwhile=dependents.observe)  # fmt: skip
        log(f"Deploying the stack {stack} ({snapshot.stack.source}), {app} at {request.image}")
        self._stack_deploy(stack, text, images.values(), request, log)
        deadline = self._deadline()
        if existing is None:
            watch.until_created(deadline, cancel)
        else:
            watch.until_updated(previous, deadline, cancel)
        self._until_services_run(dependents, deadline, cancel)
        self._mark_spec(app, stack)

    def _put_back(
        self, earlier: DeploymentRequest, stack: str, log: LogFn, cancel: CancelToken
    ) -> str:
        """The release that ran before, deployed again from its recorded file: its services
        as that file had them (``--prune`` removes the ones it did not have)."""
        assert earlier.snapshot.stack is not None
        source, service = earlier.snapshot.stack.source, earlier.snapshot.stack.service
        app = f"{stack}_{service}"
        what = (
            f"{app} at {short_digest(earlier.digest)}, every other service as its {source} had it"
        )

        def runs_now() -> str:
            try:
                found = {str(s.name).removeprefix(f"{stack}_"): s for s in self._services(stack)}
            except DockyardError:
                return f"what runs in the stack {stack} could not be read"
            spec = found[service].attrs["Spec"] if service in found else {}
            image = str((spec.get("TaskTemplate") or {}).get("ContainerSpec", {}).get("Image", ""))
            others = ", ".join(sorted(set(found) - {service})) or "none"
            return (
                f"{app} runs {short_digest(L.digest_of(image, {}))}, and the stack's other "
                f"services ({others}) may run either release's definition"
            )

        deploy = partial(self._roll_out, earlier, stack, log, cancel)
        return put_back(earlier, what, deploy, runs_now, log)

    def remove(self, repo: str, environment: str) -> None:
        if not self._is_manager():
            return
        self._remove_stack(L.resource_name(repo, environment))
        super().remove(repo, environment)

    def _mark_spec(self, app: str, stack: str) -> None:
        """Label the app service with a hash of the spec the CLI made of the file, as service
        mode does before it sends one, and with a hash of each other service's spec as it
        runs now, so a later hand edit of any shows as drift. Only labels change: Swarm
        restarts no task, and keeps the service's registry login."""
        service = self._find(app)
        if service is None:
            return
        spec = service.attrs["Spec"]
        replicas = int((spec.get("Mode") or {}).get("Replicated", {}).get("Replicas", 1))
        ports = (spec.get("EndpointSpec") or {}).get("Ports") or []
        labels = dict(spec.get("Labels") or {})
        labels[L.SPEC] = spec_hash(spec["TaskTemplate"]["ContainerSpec"], ports, replicas)
        labels[L.DEPENDENT_SPECS] = definitions.marks_text(
            {
                str(s.name).removeprefix(f"{stack}_"): definitions.service_definition(
                    s.attrs["Spec"]
                )
                for s in self._services(stack)
                if s.name != app
            }
        )
        before = (service.attrs.get("UpdateStatus") or {}).get("StartedAt")
        with docker_errors(f"label the service {app}"):
            self.client.api.update_service(
                service.id, service.version, labels=labels, fetch_current_spec=True
            )
        # Swarm still goes through an (empty) update: wait until it has, briefly.
        deadline = time.monotonic() + MARK_WAIT
        while time.monotonic() < deadline:
            marked = self._find(app)
            status = (marked.attrs.get("UpdateStatus") or {}) if marked else {}
            if marked is None or (
                status.get("StartedAt") != before and status.get("State") != "updating"
            ):
                return
            time.sleep(self.poll)

    def _stack_deploy(
        self, stack: str, text: str, images: Iterable[str], request: DeploymentRequest, log: LogFn
    ) -> None:
        """``docker stack deploy``, handing Swarm the registry login of every image (see
        ``cli_config``); an image its registry refuses to this host stops it first."""
        named = sorted({image for image in images if image and "$" not in image})
        for image in named:
            check_pull_login(self.client, image)
        docker_cli = shutil.which("docker")
        if docker_cli is None:
            raise InfrastructureError(
                "mode: stack deploys with the docker CLI (docker stack deploy), which is not "
                "installed here; install it (Debian: docker.io) and deploy again."
            )
        run_on_file(
            lambda path: [
                docker_cli, "stack", "deploy", "--compose-file", str(path), "--prune",
                "--resolve-image", "never", "--with-registry-auth", stack,
            ],
            text,
            what="docker stack deploy",
            environment=request.environment,
            cli_env=self.cli_env,
            image=request.image,
            log=log,
            extra_env=lambda folder: config_with_logins(named, folder),
        )  # fmt: skip

    def _services(self, stack: str) -> list[Service]:
        found = stack_services(self.reader, stack)
        return [self.client.services.prepare_model(attrs) for attrs in found]

    def _until_services_run(
        self, dependents: DependentsWatch, deadline: float, cancel: CancelToken
    ) -> None:
        """Every dependent runs its replicas steadily (see ``DependentsWatch``)."""
        while waiting := dependents.waiting():
            if time.monotonic() > deadline:
                raise PipelineFailed(
                    f"The stack {dependents.stack} did not settle in time: {', '.join(waiting)} "
                    f"does not run yet; Swarm keeps trying by itself: see docker stack ps "
                    f"{dependents.stack}."
                )
            wait_or_cancel(cancel, self.poll)

    def _remove_stack(self, stack: str) -> None:
        """What ``docker stack rm`` removes: services, then networks, secrets and configs."""
        self._remove_services(str(service.name) for service in self._services(stack))
        namespace = {"label": f"{NAMESPACE}={stack}"}
        # Also the task containers of a service removed a moment before (by hand): nothing
        # of the stack is left, and its network cannot go before them.
        with docker_errors(f"list the task containers of the stack {stack}"):
            await_task_containers_gone(self.client, namespace["label"])
        with docker_errors(f"remove the networks of the stack {stack}"):
            deadline = time.monotonic() + NETWORK_WAIT
            for network in self.client.networks.list(filters=namespace):
                while True:  # its endpoints go a moment after the tasks
                    try:
                        network.remove()
                        break
                    except docker.errors.NotFound:
                        break
                    except docker.errors.APIError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.5)
        for collection in (self.client.secrets, self.client.configs):
            with docker_errors(f"remove the secrets and configs of the stack {stack}"):
                for item in collection.list(filters=namespace):
                    with contextlib.suppress(docker.errors.NotFound):
                        item.remove()
