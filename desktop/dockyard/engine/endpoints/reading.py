"""A reader for a named endpoint: without Docker's SDK for a local unix socket, through
it for the rest (tcp with TLS, ssh); ``daemon_reader`` says why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from dockyard.engine.endpoints.daemon_reader import (
    DaemonReader,
    DaemonRefused,
    DaemonUnanswered,
    SocketReader,
)
from dockyard.engine.endpoints.record import Endpoint
from dockyard.engine.endpoints.registry import probe, resolve, unreachable, validate_url


def open_reader(endpoint: Endpoint, *, timeout: float) -> DaemonReader:
    """A reader for ``endpoint``; the caller closes it. Unreachable: one clear sentence,
    the same as ``open_client``'s."""
    resolved = resolve(endpoint)
    validate_url(resolved)
    if urlsplit(resolved.url).scheme != "unix":
        from dockyard.engine.endpoints.sdk_reader import open_sdk_reader  # the SDK's 0.1 s

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
