"""A reader for a named endpoint: without Docker's SDK for a local unix socket, through
it for the rest (tcp with TLS, ssh); ``daemon_reader`` says why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dockyard.engine.endpoints.daemon_reader import (
    DaemonReader,
    DaemonRefused,
    DaemonUnanswered,
    SocketReader,
)
from dockyard.engine.endpoints.record import Endpoint
from dockyard.engine.endpoints.registry import probe, resolve, unreachable, validate_url

if TYPE_CHECKING:
    import docker


def open_reader(
    endpoint: Endpoint,
    *,
    timeout: float,
    client: Callable[[], docker.DockerClient] | None = None,
) -> DaemonReader:
    """A reader for ``endpoint``; the caller closes it. Unreachable: one clear sentence,
    the same as ``open_client``'s. An endpoint that is not a local socket is read through
    ``client()`` when given (the caller's SDK client, which it closes), else through an
    SDK client of the reader's own."""
    resolved = resolve(endpoint)
    validate_url(resolved)
    if urlsplit(resolved.url).scheme != "unix":
        from dockyard.engine.endpoints.sdk_reader import SdkReader, open_sdk_reader  # 0.1 s

        if client is not None:
            return SdkReader(client())
        return open_sdk_reader(resolved, timeout=timeout)
    probe(resolved)
    reader = SocketReader(urlsplit(resolved.url).path, timeout)
    try:
        reader.ping()  # as open_client asks for the version: an answer, not just a socket
    except (DaemonRefused, DaemonUnanswered) as exc:
        raise unreachable(resolved, exc.__cause__ or exc) from exc
    return reader


@contextmanager
def reading(endpoint: Endpoint, *, timeout: float) -> Iterator[DaemonReader]:
    reader = open_reader(endpoint, timeout=timeout)
    try:
        yield reader
    finally:
        reader.close()
