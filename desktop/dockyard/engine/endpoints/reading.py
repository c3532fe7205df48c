"""A named endpoint opened for reading (``open_reader``) or for a run's requests
(``open_api``): without Docker's SDK for a local unix socket, through it for the rest
(tcp with TLS, ssh); ``daemon_reader`` and ``daemon_api`` say why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dockyard.engine.endpoints.daemon_api import DaemonApi
from dockyard.engine.endpoints.daemon_reader import DaemonReader, SocketReader
from dockyard.engine.endpoints.record import Endpoint
from dockyard.engine.endpoints.registry import probe, resolve, unreachable, validate_url
from dockyard.engine.endpoints.socket_http import DaemonRefused, DaemonUnanswered, SocketApi

if TYPE_CHECKING:
    import docker

# How long a run's requests may wait for the daemon (a push between two messages), as its
# SDK client does (client.LONG_TIMEOUT).
LONG_TIMEOUT = 3600


def open_reader(endpoint: Endpoint, *, timeout: float) -> DaemonReader:
    """A reader for ``endpoint``; the caller closes it. Unreachable: one clear sentence,
    the same as ``open_client``'s."""
    resolved = resolve(endpoint)
    validate_url(resolved)
    if urlsplit(resolved.url).scheme != "unix":
        from dockyard.engine.endpoints.sdk_reader import open_sdk_reader  # the SDK's 0.1 s

        return open_sdk_reader(resolved, timeout=timeout)
    _answering(resolved, SocketApi(urlsplit(resolved.url).path, timeout))
    return SocketReader(urlsplit(resolved.url).path, timeout)


def open_api(
    endpoint: Endpoint,
    *,
    timeout: float,
    client: Callable[[], docker.DockerClient] | None = None,
) -> DaemonApi:
    """Requests to ``endpoint``; the caller closes it. Unreachable: one clear sentence, the
    same as ``open_client``'s. Another endpoint than a local socket goes through
    ``client()`` when given (the caller's SDK client, which it closes), else through an
    SDK client of its own (``timeout`` for each read)."""
    resolved = resolve(endpoint)
    validate_url(resolved)
    if urlsplit(resolved.url).scheme != "unix":
        from dockyard.engine.endpoints.sdk_reader import SdkApi, open_sdk_api  # the SDK's 0.1 s

        return SdkApi(client()) if client is not None else open_sdk_api(resolved, timeout)
    return _answering(resolved, SocketApi(urlsplit(resolved.url).path, timeout))


def _answering(endpoint: Endpoint, api: SocketApi) -> SocketApi:
    """``api`` once the daemon answered a ping (as ``open_client`` asks for its version:
    an answer, not just a socket)."""
    probe(endpoint)
    try:
        api.request("GET", "/_ping", {})
    except (DaemonRefused, DaemonUnanswered) as exc:
        raise unreachable(endpoint, exc.__cause__ or exc) from exc
    return api


@contextmanager
def reading(endpoint: Endpoint, *, timeout: float) -> Iterator[DaemonReader]:
    reader = open_reader(endpoint, timeout=timeout)
    try:
        yield reader
    finally:
        reader.close()
