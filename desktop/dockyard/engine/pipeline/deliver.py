"""The deliver stage: tag with the commit (and git tag), push, record the registry digest."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dockyard.core.errors import InfrastructureError, PipelineFailed
from dockyard.engine.endpoints.registry_auth import (
    DOCKER_CLI_LOGIN,
    RegistryAuth,
    is_login_refusal,
    login_refused_message,
    registry_auth,
)
from dockyard.engine.pipeline.stagecontext import StageContext

if TYPE_CHECKING:
    import docker

log = logging.getLogger("dockyard.docker")


def push_image(
    client: docker.DockerClient,
    image_id: str,
    *,
    name: str,
    tags: list[str],
    ctx: StageContext,
) -> str:
    """Push ``image_id`` as ``name:tag`` for each tag; returns the registry digest."""
    import docker.errors  # with the client: the SDK is imported where it is used

    api = client.api
    digest = ""
    auth = registry_auth(name)
    ctx.log(_credentials_line(auth))
    unregister = ctx.cancel.on_cancel(api.abort_streams)
    try:
        for tag in tags:
            api.tag(image_id, name, tag=tag)
            ctx.log(f"Pushing {name}:{tag}")
            pushing = api.push(name, tag=tag, stream=True, decode=True, auth_config=auth)
            for chunk in pushing:
                if "error" in chunk:
                    detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                    ctx.log(f"ERROR: {detail}")
                    if is_login_refusal(str(detail)):
                        raise InfrastructureError(login_refused_message(name, auth, "push"))
                    raise InfrastructureError(
                        f"Pushing {name}:{tag} failed: {str(detail).strip()}; check that the "
                        "registry is reachable and that you are logged in to it."
                    )
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
                    ctx.log(f"{name}:{tag}: digest {digest}")
                elif "status" in chunk and "progressDetail" not in chunk:
                    layer = chunk.get("id")
                    ctx.log(f"{layer}: {chunk['status']}" if layer else str(chunk["status"]))
    except docker.errors.APIError as exc:
        ctx.cancel.raise_if_cancelled()
        if is_login_refusal(str(exc.explanation or exc)):
            raise InfrastructureError(login_refused_message(name, auth, "push")) from exc
        raise InfrastructureError(
            f"Pushing {name} failed: {exc.explanation or exc}; check the registry."
        ) from exc
    except (InfrastructureError, PipelineFailed):
        raise
    except Exception as exc:
        ctx.cancel.raise_if_cancelled()
        raise InfrastructureError(f"Pushing {name} failed: {exc}; check the registry.") from exc
    finally:
        unregister()
    ctx.cancel.raise_if_cancelled()
    if not digest:
        digest = _digest_from_repo_digests(client, image_id, name)
    if not digest:
        raise InfrastructureError(f"The registry did not report a digest for {name}.")
    return digest


def _credentials_line(auth: RegistryAuth | None) -> str:
    if auth is None:
        return "Registry login: none (anonymous push)"
    who = f" of {auth['username']}" if auth.get("username") else ""
    source = "the Docker CLI's" if auth.source == DOCKER_CLI_LOGIN else "Dockyard's"
    return f"Registry login: {source}{who}"


def _digest_from_repo_digests(client: docker.DockerClient, image_id: str, name: str) -> str:
    for reference in client.images.get(image_id).attrs.get("RepoDigests", []):
        repo, _, digest = str(reference).partition("@")
        if repo == name:
            return digest
    return ""
