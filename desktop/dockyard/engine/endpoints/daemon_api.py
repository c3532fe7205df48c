"""What a run asks of and writes to its Docker daemon (an image or network inspected, a
tag, a push, the test project's teardown), written once as Engine API requests over
either of two transports: a local unix socket, spoken to without Docker's SDK (importing
it takes ~0.1 s, a tenth of a small run; ``socket_http.SocketApi``), or the SDK's own
connection for every other endpoint (tcp with TLS, ssh, a context naming those;
``sdk_reader.SdkApi``). ``reading.open_api`` picks. Both raise ``DaemonRefused`` (the
daemon's message and status) and ``DaemonUnanswered``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import quote


class DaemonApi(Protocol):
    def get(self, path: str, **query: Any) -> Any:
        """The decoded JSON answer (None for an empty one)."""
        ...

    def post(self, path: str, **query: Any) -> Any: ...

    def delete(self, path: str, **query: Any) -> None: ...

    def stream(
        self, path: str, headers: Mapping[str, str], **query: Any
    ) -> Iterator[dict[str, Any]]:
        """POST ``path``; each JSON message of the answer as it arrives."""
        ...

    def abort(self) -> None:
        """End the streams in progress (from another thread: a cancel)."""
        ...

    def close(self) -> None: ...


def path_of(template: str, name: str) -> str:
    """``template`` with ``name`` (an image reference, an id) quoted for a URL path."""
    return template.format(quote(name, safe="/:@"))
