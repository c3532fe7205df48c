"""A local daemon that cannot be read says so in one sentence, as it did through Docker's
SDK: no socket, nothing listening, a socket that hangs up or answers half. Real unix
sockets; the daemon's side is played by a socket that answers one connection."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dockyard.core.errors import InfrastructureError
from dockyard.engine.endpoints.client import open_client
from dockyard.engine.endpoints.daemon_reader import SocketReader, daemon_errors
from dockyard.engine.endpoints.reading import open_reader
from dockyard.engine.endpoints.record import Endpoint


def _failure(action: Callable[[], object]) -> str:
    with pytest.raises(InfrastructureError) as failure:
        action()
    return failure.value.message


@contextmanager
def answering(path: Path, answer: bytes) -> Iterator[None]:
    """A socket at ``path`` that answers each request with ``answer``, then hangs up."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            with connection, contextlib.suppress(OSError):  # a probe hangs up at once
                connection.recv(65536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.close()
        thread.join(5)


def test_no_socket_and_nothing_listening_read_as_through_the_sdk(tmp_path: Path) -> None:
    missing = Endpoint(name="local", url=f"unix://{tmp_path}/docker.sock")
    message = _failure(lambda: open_reader(missing, timeout=5))
    assert message == _failure(lambda: open_client(missing, timeout=5))
    assert message == (
        f"Docker endpoint 'local' (unix://{tmp_path}/docker.sock) is unreachable: there is "
        f"no Docker socket at {tmp_path}/docker.sock; start Docker."
    )
    deaf = tmp_path / "deaf.sock"
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound.bind(str(deaf))  # bound, never listening: connections are refused
    try:
        endpoint = Endpoint(name="local", url=f"unix://{deaf}")
        message = _failure(lambda: open_reader(endpoint, timeout=5))
        assert message == _failure(lambda: open_client(endpoint, timeout=5))
        assert f"nothing listens at {deaf} (connection refused)" in message
    finally:
        bound.close()


def test_a_socket_that_hangs_up_without_an_answer_is_unreachable(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    with answering(path, b""):
        message = _failure(lambda: open_reader(Endpoint("local", f"unix://{path}"), timeout=5))
    assert message == (
        f"Docker endpoint 'local' (unix://{path}) is unreachable: it closed the connection "
        "without an answer."
    )


def test_an_answer_cut_short_is_not_taken_for_the_daemon_s_word(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    half = b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 90\r\n\r\n{"Sw'
    with answering(path, half):
        reader = SocketReader(str(path), timeout=5)
        message = _failure(lambda: _read_swarm_state(reader))
    assert message == (
        "Docker did not answer while trying to read the Swarm state (its answer was cut "
        "short); check that the daemon runs and is reachable."
    )


def test_the_daemon_s_own_refusal_is_its_message(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    refusal = (
        b"HTTP/1.0 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"
        b'{"message":"the disk is full"}\n'
    )
    with answering(path, refusal):
        message = _failure(lambda: _read_swarm_state(SocketReader(str(path), timeout=5)))
    assert message == (
        "Docker refused to read the Swarm state: the disk is full; check the host and try again."
    )


def _read_swarm_state(reader: SocketReader) -> None:
    with daemon_errors("read the Swarm state"):
        reader.info()
