"""A ``DaemonReader`` and a ``DaemonApi`` over Docker's SDK: for endpoints that are not a
local socket, and (the reader) for the deployers, which hold an SDK client already."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
from dockyard.engine.endpoints.socket_http import json_of, query_values


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

    def close(self) -> None:
        if self.owned:
            self.client.close()


def open_sdk_reader(endpoint: Endpoint, *, timeout: float) -> SdkReader:
    return SdkReader(open_client(endpoint, timeout=int(timeout)), owned=True)


class SdkApi:
    """Engine API requests through the SDK client's connection (its TLS, its ssh tunnel);
    closes the client on ``close`` only when ``owned``."""

    def __init__(self, client: docker.DockerClient, *, owned: bool = False) -> None:
        self.client = client
        self.api = client.api
        self.owned = owned

    def get(self, path: str, **query: Any) -> Any:
        return json_of(self._call(self.api._get, path, query).content, path)

    def post(self, path: str, **query: Any) -> Any:
        return json_of(self._call(self.api._post, path, query).content, path)

    def delete(self, path: str, **query: Any) -> None:
        self._call(self.api._delete, path, query)

    def stream(
        self, path: str, headers: Mapping[str, str], **query: Any
    ) -> Iterator[dict[str, Any]]:
        response = self._call(self.api._post, path, query, headers=dict(headers), stream=True)
        with _translated():
            yield from self.api._stream_helper(response, decode=True)

    def abort(self) -> None:
        self.api.abort_streams()

    def close(self) -> None:
        if self.owned:
            self.client.close()

    def _call(
        self, method: Callable[..., Any], path: str, query: Mapping[str, Any], **kwargs: Any
    ) -> Any:
        with _translated():
            response = method(self.api._url(path), params=query_values(query), **kwargs)
            self.api._raise_for_status(response)
        return response


def open_sdk_api(endpoint: Endpoint, timeout: float) -> SdkApi:
    return SdkApi(open_client(endpoint, timeout=int(timeout)), owned=True)
