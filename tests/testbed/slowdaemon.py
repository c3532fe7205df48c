"""Docker endpoints on 127.0.0.1 that keep a client waiting, for tests of what must not wait.

``SilentServer`` accepts connections and never answers (a daemon that hung, a firewall that
swallows replies). ``HeldEventsRelay`` relays a real daemon's unix socket over TCP but holds
an ``/events`` subscription back, as a slow link to a remote daemon may: every other call
works, the event stream's subscription stays unanswered.
Both are closed with ``close()``, which drops every connection (waking the clients).
"""

from __future__ import annotations

import contextlib
import socket
import threading


class _Server:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.connections: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="slow-daemon", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections.append(conn)
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        """Nothing: the connection stays open and silent."""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self._lock:
            connections, self.connections = self.connections, []
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class SilentServer(_Server):
    pass


class HeldEventsRelay(_Server):
    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.subscribed = threading.Event()  # a client asked for /events (and waits)
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        daemon.connect(self.unix_path)
        with self._lock:
            self.connections.append(daemon)
        threading.Thread(target=self._pump, args=(conn, daemon, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(daemon, conn, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if requests and b"/events" in data.split(b"\r\n", 1)[0]:
                    self.subscribed.set()
                    return  # never passed on: the answer never comes (until close())
                target.sendall(data)
