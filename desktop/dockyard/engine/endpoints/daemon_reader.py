"""Reading what a Docker daemon runs, without Docker's SDK where the daemon is local.

``dockyard status`` only reads: containers, services, tasks, a container's events and the
Swarm state. Importing docker-py and requests for that costs ~0.1 s, more than the reads
themselves, so a local unix socket is read with a few plain GET requests
(``socket_http``). Other endpoints (tcp with TLS, ssh, a context naming those) are read
through the SDK (``sdk_reader``); ``reading.open_reader`` picks. Either way the errors
read the same (``daemon_errors``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from dockyard.core.errors import InfrastructureError
from dockyard.engine.endpoints.socket_http import DaemonRefused, DaemonUnanswered, SocketApi

__all__ = ["DaemonRefused", "DaemonUnanswered"]  # raised by both readers, caught by callers

Filters = Mapping[str, Any]
Attrs = dict[str, Any]


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
        self.api = SocketApi(path, timeout)

    def ping(self) -> None:
        self.api.request("GET", "/_ping", {})

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
        body = self.api.request("GET", "/events", query)
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def close(self) -> None:
        """Nothing to close: each request had its own connection."""

    def _get(self, path: str, **query: Any) -> Any:
        return self.api.get(path, **query)
