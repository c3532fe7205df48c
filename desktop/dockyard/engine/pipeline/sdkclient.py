"""A run's Docker SDK client, opened only if the run needs it.

Importing the SDK (docker-py, with requests and urllib3) takes ~0.1 s, a tenth of a small
run. A run on a local socket speaks to the daemon without it (``endpoints.daemon_api``:
inspect, tag, push, the test's teardown); the legacy builder and a test command still use
the SDK, and so does every request to another kind of endpoint (TLS, ssh).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.engine.endpoints.record import Endpoint

if TYPE_CHECKING:
    import docker


class LazyClient:
    """``open_client(endpoint)`` at the first ``get``; ``close`` closes it if it was opened."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._client: docker.DockerClient | None = None

    def get(self) -> docker.DockerClient:
        if self._client is None:
            from dockyard.engine.endpoints.client import open_client  # the SDK's 0.1 s

            self._client = open_client(self.endpoint)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
