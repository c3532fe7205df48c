"""The build stage: stream ``docker build`` of an exported commit, label the image."""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import docker
import docker.errors
from docker.utils.build import exclude_paths

from dockyard.core.errors import PipelineFailed, UserInputError
from dockyard.engine.stagecontext import StageContext

log = logging.getLogger("dockyard.docker")

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
    included = exclude_paths(str(context), read_dockerignore(context), dockerfile=dockerfile)
    found = []
    for relative in sorted(included):
        name = os.path.basename(relative)
        looks_secret = any(fnmatch.fnmatch(name, pattern) for pattern in SECRET_PATTERNS)
        if looks_secret and (context / relative).is_file():
            found.append(relative)
    return found


def build_image(
    client: docker.DockerClient,
    context: Path,
    *,
    dockerfile: str,
    tag: str,
    labels: Mapping[str, str],
    buildargs: Mapping[str, str],
    target: str | None,
    ctx: StageContext,
) -> str:
    """Build and return the image id; every line of the daemon's output goes to the log."""
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
    api = client.api
    unregister = ctx.cancel.on_cancel(api.abort_streams)
    image_id = ""
    try:
        stream = api.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            labels=dict(labels),
            buildargs=dict(buildargs),
            target=target,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                ctx.log_lines(str(chunk["stream"]).splitlines())
            elif "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                ctx.log(f"ERROR: {detail}")
                raise PipelineFailed(f"The build failed: {str(detail).strip()}")
            elif "status" in chunk:
                ctx.log(str(chunk["status"]))
            elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                image_id = str(chunk["aux"]["ID"])
    except docker.errors.APIError as exc:
        ctx.cancel.raise_if_cancelled()
        raise PipelineFailed(f"The build failed: {exc.explanation or exc}") from exc
    except Exception:
        ctx.cancel.raise_if_cancelled()
        raise
    finally:
        unregister()
    ctx.cancel.raise_if_cancelled()
    if not image_id:
        image_id = str(client.images.get(tag).id)
    return image_id
