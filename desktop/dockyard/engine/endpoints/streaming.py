"""A docker-py API client whose streamed responses can be closed from another thread.

docker-py gives no handle on a running build or push; closing its HTTP response is what
makes the daemon stop the work (it cancels a build when the client goes away).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import docker


class CancellableAPIClient(docker.APIClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_responses: list[Any] = []

    def _stream_helper(self, response: Any, decode: bool = False) -> Iterator[Any]:
        self.open_responses.append(response)
        return super()._stream_helper(response, decode=decode)

    def close(self) -> None:
        for response in self.open_responses:
            response.close()
        self.open_responses.clear()
        super().close()

    def abort_streams(self) -> None:
        for response in self.open_responses:
            _shutdown(response)
        self.open_responses.clear()


def _shutdown(response: Any) -> None:
    # response.close() alone waits for the pool; shutting the socket down ends the read now.
    try:
        sock = response.raw._fp.fp.raw._sock
        sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):
        pass
    with contextlib.suppress(Exception):  # already closed is fine
        response.close()
