"""The build stage: build an exported commit with BuildKit (else the legacy builder), labelled."""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import PipelineFailed, UserInputError
from dockyard.engine.endpoints.daemon_api import DaemonApi, path_of
from dockyard.engine.endpoints.daemon_reader import daemon_errors
from dockyard.engine.endpoints.socket_http import DaemonRefused
from dockyard.engine.pipeline.buildkit import (
    BuildRequest,
    base_unavailable,
    build_timed_out,
    build_with_cli,
    buildkit_cli,
)
from dockyard.engine.pipeline.stagecontext import StageContext

if TYPE_CHECKING:
    import docker

log = logging.getLogger("dockyard.docker")
# Docker's SDK is imported where the legacy builder uses it (``sdkclient`` says why).

SECRET_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.p12",
    "*.pfx",
)


def read_dockerignore(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.exists():
        return []
    lines = path.read_text(errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def likely_secrets(context: Path, dockerfile: str) -> list[str]:
    """Files the build would send to the daemon whose names look like secrets."""
    named = sorted(
        os.path.relpath(os.path.join(folder, name), context)
        for folder, _folders, names in os.walk(context)
        for name in names
        if any(fnmatch.fnmatch(name, pattern) for pattern in SECRET_PATTERNS)
    )
    if not named:  # the usual case: .dockerignore need not be read, nor the SDK imported
        return []
    from docker.utils.build import exclude_paths  # what the daemon is sent, as docker-py says

    included = exclude_paths(str(context), read_dockerignore(context), dockerfile=dockerfile)
    return [name for name in named if name in included and (context / name).is_file()]


def build_image(
    api: DaemonApi,
    client: Callable[[], docker.DockerClient],
    request: BuildRequest,
    *,
    endpoint_env: Mapping[str, str],
    ctx: StageContext,
) -> str:
    """Build with BuildKit (docker CLI) where it can, else the legacy builder (through the
    SDK's ``client()``); the image id."""
    context, dockerfile = request.context, request.dockerfile
    if not context.is_dir():
        raise UserInputError(f"The build context {context.name!r} is not a folder in this commit.")
    if not (context / dockerfile).is_file():
        raise UserInputError(
            f"There is no {dockerfile} in the build context at this commit; add one or set "
            "build.dockerfile in dockyard.yml."
        )
    secrets = likely_secrets(context, dockerfile)
    if secrets:
        ctx.warn(
            "the build context holds files that look like secrets and are not excluded by "
            f".dockerignore: {', '.join(secrets)}; add them to .dockerignore."
        )
    cli = buildkit_cli()
    if cli is not None:
        if request.network is None and not _has_default_bridge(api):
            ctx.log(
                "The Docker host has no default bridge network: RUN steps get none "
                "(set build.network: host to give them the host's)"
            )
            request = replace(request, network="none")
        build_with_cli(cli, request, endpoint_env, ctx)
        return _loaded_image_id(api, request.tag)
    if request.secrets:
        raise UserInputError(
            "build.secrets needs BuildKit, and no docker CLI here can use it; install the "
            "docker buildx plugin (or a docker CLI older than 23.0), or remove build.secrets."
        )
    ctx.log(
        "BuildKit is not available (no docker CLI with buildx, nor one older than 23.0): "
        "building with Docker's legacy builder, which cannot run RUN --mount, COPY --chmod "
        "or heredocs; install the docker buildx plugin to use them."
    )
    return _legacy_build(client(), request, ctx)


def _loaded_image_id(api: DaemonApi, tag: str) -> str:
    """The id the daemon knows the built image by (a buildx builder of another driver
    reports other digests in --iidfile; --load puts the image on the daemon)."""
    with daemon_errors(f"find the built image {tag}"):
        try:
            return str(api.get(path_of("/images/{}/json", tag))["Id"])
        except DaemonRefused as exc:
            if exc.status != 404:
                raise
    raise PipelineFailed(
        f"The build finished but {tag} is not on the Docker host; check that the docker "
        "CLI's builder (docker buildx ls) builds for the endpoint in build.host."
    )


def _has_default_bridge(api: DaemonApi) -> bool:
    with daemon_errors("look for its bridge network"):
        try:
            api.get("/networks/bridge")
        except DaemonRefused as exc:
            return exc.status != 404  # another refusal: let the build say what is wrong
    return True


def _legacy_build(client: docker.DockerClient, request: BuildRequest, ctx: StageContext) -> str:
    """docker-py's build API (the daemon's legacy builder), streamed into the log."""
    import docker.errors

    api = client.api
    unregister = ctx.cancel.on_cancel(api.abort_streams)
    # Closing the stream ends the build on the daemon too, as for a cancel.
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        api.abort_streams()

    timer = threading.Timer(request.timeout, on_timeout)
    timer.daemon = True
    timer.start()
    image_id = ""
    step = ""
    try:
        stream = api.build(
            path=str(request.context),
            dockerfile=request.dockerfile,
            tag=request.tag,
            labels=dict(request.labels),
            buildargs=dict(request.buildargs),
            target=request.target,
            network_mode=request.network,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                lines = str(chunk["stream"]).splitlines()
                ctx.log_lines(lines)
                step = _legacy_step(lines) or step
            elif "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                ctx.log(f"ERROR: {detail}")
                if step.upper().startswith("FROM "):
                    base = next(word for word in step.split()[1:] if not word.startswith("--"))
                    raise base_unavailable(base, request.dockerfile, str(detail).strip())
                raise PipelineFailed(f"The build failed: {str(detail).strip()}")
            elif "status" in chunk:
                ctx.log(str(chunk["status"]))
            elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                image_id = str(chunk["aux"]["ID"])
    except docker.errors.APIError as exc:
        ctx.cancel.raise_if_cancelled()
        if timed_out.is_set():
            raise build_timed_out(request.timeout, step) from exc
        raise PipelineFailed(f"The build failed: {exc.explanation or exc}") from exc
    except Exception as exc:
        ctx.cancel.raise_if_cancelled()
        if timed_out.is_set():
            raise build_timed_out(request.timeout, step) from exc
        raise
    finally:
        timer.cancel()
        unregister()
    ctx.cancel.raise_if_cancelled()
    if timed_out.is_set():
        raise build_timed_out(request.timeout, step)
    if not image_id:
        image_id = str(client.images.get(request.tag).id)
    return image_id


_LEGACY_STEP = re.compile(r"^Step \d+/\d+ : (.+)$")


def _legacy_step(lines: list[str]) -> str:
    """The last "Step N/M : INSTRUCTION" the legacy builder announced in these lines."""
    steps = [match.group(1).strip() for line in lines if (match := _LEGACY_STEP.match(line))]
    return steps[-1] if steps else ""
