"""A run's Docker SDK client, opened on a thread of its own while the build runs.

Importing the SDK (docker-py, with requests and urllib3) takes ~0.1 s, a tenth of a small
run. The run needs the client only for what follows the build (the test's teardown, the
push; the legacy builder and a test command, should the run use them); what it asks
before (is the daemon there, its bridge network, the built image) it reads without the
SDK (``endpoints.reading``). Opened beside the build's and the test's waits, the import
costs the run nothing on a machine with a core to spare.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from dockyard.engine.endpoints.record import Endpoint

if TYPE_CHECKING:
    import docker


class BackgroundClient:
    """``open_client(endpoint)`` started at once; ``get`` waits for it (and raises what
    opening raised), ``close`` closes it once it is open."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._client: docker.DockerClient | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._open, name="docker-sdk", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        try:
            from dockyard.engine.endpoints.client import open_client  # the SDK's 0.1 s

            self._client = open_client(self.endpoint)
        except BaseException as exc:  # noqa: BLE001 - raised again where it is needed
            self._error = exc

    def get(self) -> docker.DockerClient:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._client is not None
        return self._client

    def close(self) -> None:
        self._thread.join()
        if self._client is not None:
            self._client.close()
