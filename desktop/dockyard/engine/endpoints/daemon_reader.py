"""Reading what a Docker daemon runs, without Docker's SDK where the daemon is local.

``dockyard status`` only reads: containers, services, tasks, a container's events and the
Swarm state. Importing docker-py and requests for that costs ~0.1 s, more than the reads
themselves, so a local unix socket is read here with a few plain GET requests (HTTP/1.0:
one connection a request, the answer ends when the daemon closes it). Other endpoints
(tcp with TLS, ssh, a context naming those) are read through the SDK (``sdk_reader``);
``reading.open_reader`` picks. Either way the errors read the same (``daemon_errors``).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from dockyard.core.errors import InfrastructureError
from dockyard.engine.endpoints.registry import CONNECT_TIMEOUT

Filters = Mapping[str, Any]
Attrs = dict[str, Any]
CHUNK = 65536


class DaemonRefused(Exception):
    """The daemon answered with an error (its own message)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class DaemonUnanswered(Exception):
    """The daemon could not be asked, or its answer was cut short."""


class DaemonReader(Protocol):
    """The reads ``inspect`` needs, each as the Engine API returns it."""

    def info(self) -> Attrs: ...

    def containers(self, filters: Filters) -> list[Attrs]:
        """Every container (running or not) matching ``filters``, each inspected."""
        ...

    def services(self, filters: Filters) -> list[Attrs]: ...

    def tasks(self, filters: Filters) -> list[Attrs]: ...

    def events(self, since: int | None, until: str, filters: Filters) -> list[Attrs]:
        """The past events in [since, until] (``until`` in the daemon's clock)."""
        ...

    def image(self, name: str) -> Attrs | None:
        """The image ``name`` (a reference or an id) as inspected, None when there is none."""
        ...

    def network(self, name: str) -> Attrs | None:
        """The network ``name`` as inspected, None when there is none."""
        ...

    def close(self) -> None: ...


@contextmanager
def daemon_errors(action: str) -> Iterator[None]:
    """What a reader raises as one clear sentence (InfrastructureError)."""
    try:
        yield
    except DaemonRefused as exc:
        raise refused(action, str(exc), str(exc)) from exc
    except DaemonUnanswered as exc:
        raise unanswered(action, exc, str(exc)) from exc


def refused(action: str, reason: str, details: str) -> InfrastructureError:
    return InfrastructureError(
        f"Docker refused to {action}: {reason.strip()}; check the host and try again.",
        details=details,
    )


def unanswered(action: str, exc: object, details: str) -> InfrastructureError:
    return InfrastructureError(
        f"Docker did not answer while trying to {action} ({exc}); check that the daemon "
        "runs and is reachable.",
        details=details,
    )


def filter_query(filters: Filters) -> str:
    """Filters as the Engine API takes them: each value a list of strings, in JSON."""
    converted = {}
    for key, value in filters.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        converted[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return json.dumps(converted)


class SocketReader:
    """GET requests to a daemon's unix socket; nothing stays open between them."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout

    def ping(self) -> None:
        self._request("/_ping")

    def info(self) -> Attrs:
        return dict(self._get("/info"))

    def containers(self, filters: Filters) -> list[Attrs]:
        found = []
        for summary in self._get("/containers/json", all=1, filters=filter_query(filters)):
            try:
                found.append(self._get(f"/containers/{summary['Id']}/json"))
            except DaemonRefused as exc:
                if exc.status != 404:
                    raise  # a 404: removed since it was listed, so it runs no more
        return found

    def services(self, filters: Filters) -> list[Attrs]:
        return list(self._get("/services", filters=filter_query(filters)))

    def tasks(self, filters: Filters) -> list[Attrs]:
        return list(self._get("/tasks", filters=filter_query(filters)))

    def events(self, since: int | None, until: str, filters: Filters) -> list[Attrs]:
        query = {"until": until, "filters": filter_query(filters)}
        if since is not None:
            query["since"] = str(since)
        body = self._request("/events?" + urlencode(query))
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def image(self, name: str) -> Attrs | None:
        return self._inspect(f"/images/{quote(name, safe='/:@')}/json")

    def network(self, name: str) -> Attrs | None:
        return self._inspect(f"/networks/{quote(name, safe='')}")

    def _inspect(self, path: str) -> Attrs | None:
        try:
            return dict(self._get(path))
        except DaemonRefused as exc:
            if exc.status == 404:
                return None
            raise

    def close(self) -> None:
        """Nothing to close: each request had its own connection."""

    def _get(self, path: str, **query: Any) -> Any:
        target = f"{path}?{urlencode(query)}" if query else path
        body = self._request(target)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise DaemonUnanswered(f"its answer to {path} is not JSON ({exc})") from exc

    def _request(self, target: str) -> bytes:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(CONNECT_TIMEOUT)
                sock.connect(self.path)
                sock.settimeout(self.timeout)
                sock.sendall(f"GET {target} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
                answer = b"".join(iter(lambda: sock.recv(CHUNK), b""))
        except OSError as exc:
            raise DaemonUnanswered(str(exc) or type(exc).__name__) from exc
        return _body(answer)


def _body(answer: bytes) -> bytes:
    """The body of an HTTP/1.0 answer; an error status raises with the daemon's message."""
    if not answer:
        raise DaemonUnanswered("it closed the connection without an answer")
    head, separator, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if not separator or len(parts) < 2 or not parts[1].isdigit():
        raise DaemonUnanswered("its answer is not HTTP, or was cut short")
    headers = dict(line.lower().split(": ", 1) for line in header_lines if ": " in line)
    length = headers.get("content-length", "")
    if length.isdigit() and len(body) < int(length):
        raise DaemonUnanswered("its answer was cut short")
    status = int(parts[1])
    if status >= 400:
        try:
            message = str(json.loads(body).get("message") or "")
        except (ValueError, AttributeError):
            message = body.decode(errors="replace").strip()
        raise DaemonRefused(message or f"{status} {parts[2] if len(parts) > 2 else ''}", status)
    return body
