"""Docker Engine API requests over a local unix socket, without Docker's SDK.

Importing docker-py with requests and urllib3 costs ~0.1 s, more than what ``dockyard
status`` reads and a tenth of a small run, so a local daemon is spoken to here: HTTP/1.0,
one connection a request, the answer ends when the daemon closes it (no chunked encoding
to undo, and a streamed answer, a push's progress, arrives as the daemon writes it).
What the daemon refuses raises ``DaemonRefused`` with its own message, what does not
answer ``DaemonUnanswered``; ``daemon_reader.daemon_errors`` words both as one sentence.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from dockyard.engine.endpoints.registry import CONNECT_TIMEOUT

CHUNK = 65536


class DaemonRefused(Exception):
    """The daemon answered with an error (its own message)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class DaemonUnanswered(Exception):
    """The daemon could not be asked, or its answer was cut short."""


class SocketApi:
    """Requests to a daemon's unix socket: ``get``/``post``/``delete`` answer the decoded
    JSON (None for an empty answer), ``stream`` yields a streamed answer's JSON messages;
    ``abort`` ends the streams in progress (a cancelled push) from another thread."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout  # for each read: a push may wait as long between messages
        self._streams: set[socket.socket] = set()
        self._lock = threading.Lock()

    def get(self, path: str, **query: Any) -> Any:
        return json_of(self.request("GET", path, query), path)

    def post(self, path: str, **query: Any) -> Any:
        return json_of(self.request("POST", path, query), path)

    def delete(self, path: str, **query: Any) -> None:
        self.request("DELETE", path, query)

    def request(self, method: str, path: str, query: Mapping[str, Any]) -> bytes:
        with self._connected(method, path, query, {}) as sock:
            answer = b"".join(iter(lambda: sock.recv(CHUNK), b""))
        return body_of(answer)

    def stream(
        self, path: str, headers: Mapping[str, str], **query: Any
    ) -> Iterator[dict[str, Any]]:
        """POST ``path`` and yield each JSON message of the answer as it arrives."""
        with self._connected("POST", path, query, headers) as sock:
            with self._lock:
                self._streams.add(sock)
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = sock.recv(CHUNK)
                    if not chunk:
                        break
                    head += chunk
                head, separator, first = head.partition(b"\r\n\r\n")
                if not separator or _status(head) >= 400:  # the whole answer says why
                    body_of(head + separator + first + _rest(sock))
                pending = b""
                for chunk in itertools.chain([first], iter(lambda: sock.recv(CHUNK), b"")):
                    *lines, pending = (pending + chunk).split(b"\n")
                    yield from (json.loads(line) for line in lines if line.strip())
                if pending.strip():
                    yield json.loads(pending)
            except OSError as exc:
                raise DaemonUnanswered(str(exc) or type(exc).__name__) from exc
            except ValueError as exc:
                raise DaemonUnanswered(f"its answer to {path} is not JSON ({exc})") from exc
            finally:
                with self._lock:
                    self._streams.discard(sock)

    def abort(self) -> None:
        with self._lock:
            streams = list(self._streams)
        for sock in streams:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # the read in progress ends now

    def close(self) -> None:
        """Nothing to close: each request had its own connection."""

    @contextlib.contextmanager
    def _connected(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> Iterator[socket.socket]:
        target = f"{path}?{urlencode(query_values(query))}" if query else path
        lines = [f"{method} {target} HTTP/1.0", "Host: docker"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if method != "GET":
            lines.append("Content-Length: 0")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(CONNECT_TIMEOUT)
                sock.connect(self.path)
                sock.settimeout(self.timeout)
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
                yield sock
        except OSError as exc:
            raise DaemonUnanswered(str(exc) or type(exc).__name__) from exc


def query_values(query: Mapping[str, Any]) -> dict[str, str]:
    """Query values as the Engine API reads them: booleans as 1 or 0."""
    return {
        key: ("1" if value else "0") if isinstance(value, bool) else str(value)
        for key, value in query.items()
        if value is not None
    }


def json_of(body: bytes, path: str) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DaemonUnanswered(f"its answer to {path} is not JSON ({exc})") from exc


def _rest(sock: socket.socket) -> bytes:
    return b"".join(iter(lambda: sock.recv(CHUNK), b""))


def _status(head: bytes) -> int:
    parts = head.decode("latin-1").split("\r\n", 1)[0].split(" ", 2)
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


def body_of(answer: bytes) -> bytes:
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
