"""A streamed answer over a daemon's unix socket (a push's progress) arrives message by
message, ends at once when the run is cancelled, and a refusal is the daemon's message.
Real unix sockets; the daemon's side is a socket served by a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dockyard.engine.endpoints.socket_http import DaemonRefused, SocketApi

HEAD = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"


@contextmanager
def daemon(path: Path, serve: Callable[[socket.socket, bytes], None]) -> Iterator[None]:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def accept() -> None:
        connection, _ = server.accept()
        with connection:
            serve(connection, connection.recv(65536))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.close()
        thread.join(5)


def test_a_stream_s_messages_arrive_as_the_daemon_writes_them(tmp_path: Path) -> None:
    second = threading.Event()
    asked: list[bytes] = []

    def serve(connection: socket.socket, request: bytes) -> None:
        asked.append(request)
        connection.sendall(HEAD + b'{"status":"Preparing"}\r\n{"id":"a1",')
        second.wait(5)  # the client has the first message before the second is written
        connection.sendall(b'"status":"Pushed"}\r\n{"aux":{"Digest":"sha256:ab"}}\r\n')

    path = tmp_path / "docker.sock"
    with daemon(path, serve):
        stream = SocketApi(str(path), timeout=5).stream(
            "/images/r/web/push", {"X-Registry-Auth": "e30="}, tag="v1"
        )
        assert next(stream) == {"status": "Preparing"}
        second.set()
        assert list(stream) == [{"id": "a1", "status": "Pushed"}, {"aux": {"Digest": "sha256:ab"}}]
    request = asked[0].decode()
    assert request.startswith("POST /images/r/web/push?tag=v1 HTTP/1.0\r\n")
    assert "X-Registry-Auth: e30=\r\n" in request


def test_abort_ends_a_stream_the_daemon_keeps_open(tmp_path: Path) -> None:
    over = threading.Event()

    def serve(connection: socket.socket, _request: bytes) -> None:
        connection.sendall(HEAD + b'{"status":"Pushing"}\n')
        over.wait(10)  # a push that would go on

    path = tmp_path / "docker.sock"
    with daemon(path, serve):
        api = SocketApi(str(path), timeout=30)
        stream = api.stream("/images/web/push", {})
        assert next(stream) == {"status": "Pushing"}
        threading.Timer(0.2, api.abort).start()  # a cancel, from another thread
        started = time.monotonic()
        assert list(stream) == []
        assert time.monotonic() - started < 5
        over.set()


def test_a_refused_stream_raises_the_daemon_s_message(tmp_path: Path) -> None:
    def serve(connection: socket.socket, _request: bytes) -> None:
        connection.sendall(
            b"HTTP/1.0 404 Not Found\r\n\r\n"
            b'{"message":"An image does not exist locally with the tag: web"}\n'
        )

    path = tmp_path / "docker.sock"
    with daemon(path, serve), pytest.raises(DaemonRefused) as refused:
        list(SocketApi(str(path), timeout=5).stream("/images/web/push", {}))
    assert (refused.value.status, str(refused.value)) == (
        404,
        "An image does not exist locally with the tag: web",
    )
