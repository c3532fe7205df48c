"""The deliver stage: tag with the commit (and git tag), push, record the registry digest."""

from __future__ import annotations

import base64
import json
import logging

from dockyard.core.errors import InfrastructureError, PipelineFailed
from dockyard.engine.endpoints.daemon_api import DaemonApi, path_of
from dockyard.engine.endpoints.registry_auth import (
    DOCKER_CLI_LOGIN,
    RegistryAuth,
    is_login_refusal,
    login_refused_message,
    registry_auth,
)
from dockyard.engine.endpoints.socket_http import DaemonRefused
from dockyard.engine.pipeline.stagecontext import StageContext

log = logging.getLogger("dockyard.docker")


def push_image(
    api: DaemonApi,
    image_id: str,
    *,
    name: str,
    tags: list[str],
    ctx: StageContext,
) -> str:
    """Push ``image_id`` as ``name:tag`` for each tag; returns the registry digest."""
    digest = ""
    auth = registry_auth(name)
    ctx.log(_credentials_line(auth))
    login = {"X-Registry-Auth": _auth_header(auth)}
    unregister = ctx.cancel.on_cancel(api.abort)
    try:
        for tag in tags:
            api.post(path_of("/images/{}/tag", image_id), repo=name, tag=tag)
            ctx.log(f"Pushing {name}:{tag}")
            for chunk in api.stream(path_of("/images/{}/push", name), login, tag=tag):
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
    except DaemonRefused as exc:
        ctx.cancel.raise_if_cancelled()
        if is_login_refusal(str(exc)):
            raise InfrastructureError(login_refused_message(name, auth, "push")) from exc
        raise InfrastructureError(f"Pushing {name} failed: {exc}; check the registry.") from exc
    except (InfrastructureError, PipelineFailed):
        raise
    except Exception as exc:
        ctx.cancel.raise_if_cancelled()
        raise InfrastructureError(f"Pushing {name} failed: {exc}; check the registry.") from exc
    finally:
        unregister()
    ctx.cancel.raise_if_cancelled()
    if not digest:
        digest = _digest_from_repo_digests(api, image_id, name)
    if not digest:
        raise InfrastructureError(f"The registry did not report a digest for {name}.")
    return digest


def _credentials_line(auth: RegistryAuth | None) -> str:
    if auth is None:
        return "Registry login: none (anonymous push)"
    who = f" of {auth['username']}" if auth.get("username") else ""
    source = "the Docker CLI's" if auth.source == DOCKER_CLI_LOGIN else "Dockyard's"
    return f"Registry login: {source}{who}"


def _auth_header(auth: RegistryAuth | None) -> str:
    """The login as the daemon takes it with a push: base64url of its JSON (an empty one
    for none, as the docker CLI sends)."""
    return base64.urlsafe_b64encode(json.dumps(dict(auth or {})).encode()).decode()


def _digest_from_repo_digests(api: DaemonApi, image_id: str, name: str) -> str:
    for reference in api.get(path_of("/images/{}/json", image_id)).get("RepoDigests") or []:
        repo, _, digest = str(reference).partition("@")
        if repo == name:
            return digest
    return ""
