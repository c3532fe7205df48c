"""A ``DaemonReader`` over Docker's SDK: for endpoints that are not a local socket, and
for the deployers, which hold an SDK client already."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import docker
import docker.errors
import requests.exceptions

from dockyard.engine.endpoints.client import open_client
from dockyard.engine.endpoints.daemon_reader import (
    Attrs,
    DaemonRefused,
    DaemonUnanswered,
    Filters,
)
from dockyard.engine.endpoints.record import Endpoint


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except docker.errors.APIError as exc:
        raise DaemonRefused(str(exc.explanation or exc), exc.status_code or 0) from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise DaemonUnanswered(str(exc)) from exc


class SdkReader:
    """Reads through ``client``; closes it on ``close`` only when ``owned``."""

    def __init__(self, client: docker.DockerClient, *, owned: bool = False) -> None:
        self.client = client
        self.owned = owned

    def info(self) -> Attrs:
        with _translated():
            return dict(self.client.info())

    def containers(self, filters: Filters) -> list[Attrs]:
        api = self.client.api
        found = []
        with _translated():
            for summary in api.containers(all=True, filters=dict(filters)):
                try:
                    found.append(api.inspect_container(summary["Id"]))
                except docker.errors.NotFound:
                    continue  # removed since it was listed, so it runs no more
        return found

    def services(self, filters: Filters) -> list[Attrs]:
        with _translated():
            return list(self.client.api.services(filters=dict(filters)))

    def tasks(self, filters: Filters) -> list[Attrs]:
        with _translated():
            return list(self.client.api.tasks(filters=dict(filters)))

    def events(self, since: int | None, until: str, filters: Filters) -> list[Attrs]:
        with _translated():
            stream: Any = self.client.api.events(
                since=since, until=until, filters=dict(filters), decode=True
            )
            return list(stream)

    def image(self, name: str) -> Attrs | None:
        return _inspected(self.client.api.inspect_image, name)

    def network(self, name: str) -> Attrs | None:
        return _inspected(self.client.api.inspect_network, name)

    def close(self) -> None:
        if self.owned:
            self.client.close()


def _inspected(inspect: Callable[[str], Any], name: str) -> Attrs | None:
    with _translated():
        try:
            return dict(inspect(name))
        except docker.errors.NotFound:
            return None


def open_sdk_reader(endpoint: Endpoint, *, timeout: float) -> SdkReader:
    return SdkReader(open_client(endpoint, timeout=int(timeout)), owned=True)
