"""The test stage: a compose file whose verdict service's exit code decides, or a command.

The image under test is the one the build stage made: compose files name it through
``${DOCKYARD_IMAGE}``, and services whose ``build:`` is the pipeline's own get it instead of
a second build (``engine.pipeline.testfile``), so what was tested is exactly what will be delivered;
other ``build:`` services (a ``sut`` from ``Dockerfile.test``) are built by compose.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import PipelineFailed, UserInputError
from dockyard.engine.endpoints.daemon_api import DaemonApi
from dockyard.engine.endpoints.socket_http import DaemonRefused, DaemonUnanswered
from dockyard.engine.pipeline.compose import compose_command
from dockyard.engine.pipeline.pipes import follow, log_chunks
from dockyard.engine.pipeline.stagecontext import StageContext
from dockyard.engine.pipeline.testfile import PipelineBuild, TestFile, prepare_test_file
from dockyard.engine.pipeline.testproject import built_image_names, remove_test_project

if TYPE_CHECKING:
    import docker
    import docker.models.containers

log = logging.getLogger("dockyard.test")
# Docker's SDK is imported where a test command uses it (``sdkclient`` says why).


def _timeout_text(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s" if seconds >= 60 else f"{seconds:g}s"


def run_compose_test(
    api: DaemonApi,
    context: Path,
    *,
    compose_file: str,
    service: str,
    image: str,
    build: PipelineBuild,
    timeout: float,
    project: str,
    env: Mapping[str, str],
    ctx: StageContext,
) -> None:
    """Run the compose test; raises PipelineFailed when the verdict service fails."""
    file = context / compose_file
    if not file.is_file():
        raise UserInputError(f"The test compose file {compose_file} is not in this commit.")
    test_file = prepare_test_file(file, image, build)
    if test_file.version1 and compose_command()[-1] == "compose":
        raise UserInputError(
            f"{compose_file} is a version 1 compose file, which the Compose plugin (docker "
            "compose) does not read; move its services under a services: key (with "
            "dockerfile: inside build:), or install docker-compose 1.x."
        )
    _describe(test_file, compose_file, ctx)
    base = [*compose_command(), "-p", project, "-f", str(test_file.path)]
    # An empty value in ``env`` means "unset" (e.g. DOCKER_TLS_VERIFY for a plain socket).
    environment = {**os.environ, **env, "DOCKYARD_IMAGE": image}
    environment = {key: value for key, value in environment.items() if value != ""}
    building = "--build" if test_file.built else "--no-build"
    up = [*base, "up", building, "--abort-on-container-exit", "--exit-code-from", service]
    ctx.log(f"$ compose {' '.join(up[len(compose_command()) :])}")
    with subprocess.Popen(
        up,
        cwd=context,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    ) as process:
        output = ComposeOutput()
        try:
            code = follow(process, timeout=timeout, ctx=ctx, observe=output)
        finally:
            _teardown(api, project, test_file, ctx)
    ctx.cancel.raise_if_cancelled()
    if code is None:
        raise PipelineFailed(
            f"The test did not finish within {_timeout_text(timeout)}; it was stopped. "
            "Raise test.timeout in dockyard.yml if it needs longer."
        )
    if code != 0 and not output.service_exited:
        reason = output.last_message.removeprefix("ERROR: ").rstrip(".")
        raise PipelineFailed(
            f"Compose could not run the test ({reason or f'exit code {code}'}); see the test log."
        )
    if code != 0:
        raise PipelineFailed(
            f"The test failed: service {service!r} exited with code {code}; see the test log."
        )


def _describe(test_file: TestFile, name: str, ctx: StageContext) -> None:
    if test_file.version1:
        ctx.log(f"{name} is a version 1 compose file (no services: key)")
    if test_file.tested:
        ctx.log(f"Tested image for the pipeline's own build: {', '.join(test_file.tested)}")
    if test_file.built:
        ctx.log(f"Built by compose from their own Dockerfile: {', '.join(test_file.built)}")


def _teardown(api: DaemonApi, project: str, test_file: TestFile, ctx: StageContext) -> None:
    """Remove the test project (``compose up`` has stopped it, or was stopped itself)."""
    images = built_image_names(project, test_file.unnamed)
    try:
        list(remove_test_project(api, project, images))
    except (DaemonRefused, DaemonUnanswered) as exc:
        ctx.warn(
            f"the test's containers, networks and volumes could not all be removed ({exc}); "
            f"remove what is left with: docker compose -p {project} down --volumes"
        )


def run_command_test(
    client: docker.DockerClient,
    *,
    image: str,
    command: tuple[str, ...],
    timeout: float,
    labels: Mapping[str, str],
    ctx: StageContext,
) -> None:
    """Run ``command`` in a container of the built image; its exit code is the verdict."""
    import docker.errors

    container = client.containers.create(
        image, list(command), labels=dict(labels), network_mode="none"
    )
    unregister = ctx.cancel.on_cancel(lambda: _kill_quietly(container))
    try:
        container.start()
        reader = threading.Thread(target=_follow_logs, args=(container, ctx), daemon=True)
        reader.start()
        try:
            result = container.wait(timeout=timeout)
        except Exception as exc:  # requests raises ConnectionError/ReadTimeout on timeout
            ctx.cancel.raise_if_cancelled()
            _kill_quietly(container)
            raise PipelineFailed(
                f"The test command did not finish within {_timeout_text(timeout)}; it was stopped."
            ) from exc
        reader.join(timeout=10)
    finally:
        unregister()
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    ctx.cancel.raise_if_cancelled()
    code = int(result.get("StatusCode", 1))
    if code != 0:
        raise PipelineFailed(f"The test failed: the test command exited with code {code}.")


class ComposeOutput:
    """What compose said itself (not its services): why it failed when no service ran."""

    def __init__(self) -> None:
        self.service_exited = False
        self.last_message = ""

    def __call__(self, lines: list[str]) -> None:
        for line in lines:
            if " | " in line:  # a service's output, "name_1  | text"
                continue
            if " exited with code " in line:
                self.service_exited = True
            elif line.strip():
                self.last_message = line.strip()


def _follow_logs(container: docker.models.containers.Container, ctx: StageContext) -> None:
    try:
        log_chunks(container.logs(stream=True, follow=True), ctx)
    except Exception:
        log.debug("log stream ended", exc_info=True)


def _kill_quietly(container: docker.models.containers.Container) -> None:
    import docker.errors

    with contextlib.suppress(docker.errors.APIError):
        container.kill()
