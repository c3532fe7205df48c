"""The user's Docker contexts (``docker context ls``) as Dockyard endpoints.

The current context is what ``local`` follows when ``DOCKER_HOST`` is unset; the others can
be imported as named endpoints on request. Contexts are read with docker-py's
``ContextAPI``, from the folder the docker CLI uses (``DOCKER_CONFIG`` or ``~/.docker``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dockyard.core.errors import UserInputError
from dockyard.engine.endpoints.record import Endpoint

if TYPE_CHECKING:
    import docker.context

log = logging.getLogger("dockyard.docker")


class Registry(Protocol):
    """What ``import_contexts`` needs of ``endpoints.EndpointRegistry``."""

    def list(self) -> list[Endpoint]: ...

    def add(self, endpoint: Endpoint, *, replace: bool = False) -> None: ...


@dataclass(frozen=True)
class ContextImport:
    name: str
    url: str
    outcome: str  # "added" | "updated" | "unchanged" | "skipped: <why>"


def _context_endpoint(context: docker.context.Context, name: str) -> Endpoint | None:
    host = context.Host
    if not host:
        return None
    tls = context.TLSConfig
    ca = cert = key = ""
    if tls is not None:
        ca = str(tls.ca_cert or "")
        if tls.cert:
            cert, key = (str(part) for part in tls.cert)
    return Endpoint(
        name=name, url=host, tls_ca=ca, tls_cert=cert, tls_key=key, context=context.Name
    )


def _config_exists() -> bool:
    # docker-py looks for contexts beside config.json and in the working folder without one.
    folder = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return (Path(folder) / "config.json").is_file()


def current_context_name() -> str:
    """``DOCKER_CONTEXT``, else ``currentContext`` of the docker CLI's config, else default."""
    name = os.environ.get("DOCKER_CONTEXT", "")
    if name:
        return name
    if not _config_exists():
        return "default"
    import docker.context  # the whole SDK: only when a context is read

    return str(docker.context.config.get_current_context_name() or "default")


def current_context_endpoint() -> Endpoint | None:
    """The current context as an endpoint, or None for the built-in ``default`` context."""
    name = current_context_name()
    if name == "default":
        return None
    import docker.context

    context = docker.context.ContextAPI.get_context(name)
    if context is None:
        raise UserInputError(
            f"The current Docker context {name!r} does not exist; pick another with "
            "'docker context use NAME' (or unset DOCKER_CONTEXT)."
        )
    return _context_endpoint(context, name)


def _context_names() -> list[str]:
    # docker-py's ContextAPI.contexts() leaves the meta files open; read the names here.
    import docker.context

    names = []
    for meta in Path(docker.context.config.get_meta_dir()).glob("*/meta.json"):
        try:
            names.append(str(json.loads(meta.read_text())["Name"]))
        except (OSError, ValueError, KeyError) as exc:
            raise UserInputError(f"The Docker context file {meta} is unreadable ({exc}).") from exc
    return sorted(names)


def docker_contexts() -> list[Endpoint]:
    """Every Docker context but ``default``, named as the context is."""
    if not _config_exists():
        return []
    import docker.context

    endpoints = []
    for name in _context_names():
        if name == "default":
            continue
        try:
            context = docker.context.ContextAPI.get_context(name)
        except Exception as exc:  # docker-py raises a bare Exception for a bad meta file
            raise UserInputError(f"The Docker context {name!r} cannot be read ({exc}).") from exc
        endpoint = _context_endpoint(context, name) if context is not None else None
        if endpoint is not None:
            endpoints.append(endpoint)
    return endpoints


def import_contexts(registry: Registry) -> list[ContextImport]:
    """Add (or refresh) an endpoint per Docker context; never replaces a hand-made one."""
    existing = {e.name: e for e in registry.list()}
    results = []
    for endpoint in docker_contexts():
        current = existing.get(endpoint.name)
        if endpoint.name == "local":
            outcome = "skipped: 'local' is built in"
        elif current is not None and not current.context:
            outcome = "skipped: an endpoint of that name exists"
        elif current == endpoint:
            outcome = "unchanged"
        else:
            try:
                registry.add(endpoint, replace=True)  # refreshes what an import made before
            except UserInputError as exc:
                results.append(ContextImport(endpoint.name, endpoint.url, f"skipped: {exc}"))
                continue
            outcome = "updated" if current is not None else "added"
        log.info("Docker context %s (%s): %s", endpoint.name, endpoint.url, outcome)
        results.append(ContextImport(endpoint.name, endpoint.url, outcome))
    return results
