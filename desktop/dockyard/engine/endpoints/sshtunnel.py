"""ssh:// endpoints through the OpenSSH client, as the docker CLI does it.

docker-py's own ssh transport needs paramiko, and its shell-out mode gives no control over
host-key checking or timeouts. Instead Dockyard serves a private unix socket (in a 0700
folder) and, per connection, runs ``ssh … docker system dial-stdio`` on the remote host,
with options chosen on purpose:

- ``StrictHostKeyChecking=yes``: an unknown or changed host key is refused, never added;
- ``BatchMode=yes``: no password or passphrase prompt a GUI could not answer (keys come
  from the ssh agent or from key files without a passphrase);
- ``ConnectTimeout``: an unreachable host fails within the connect timeout.

The user's ``~/.ssh/config`` applies (``ProxyJump``, ``HostKeyAlias``, …) unless the endpoint
names its own config file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("dockyard.docker")

CHUNK = 65536


def ssh_command(
    url: str,
    *,
    connect_timeout: int,
    config: str = "",
    identity: str = "",
    known_hosts: str = "",
) -> list[str]:
    """The ssh command line that reaches the Docker daemon behind ``url`` (ssh://…)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    cmd = ["ssh"]
    if config:
        cmd += ["-F", config]
    cmd += [
        "-T",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"ConnectTimeout={connect_timeout}",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=3",
    ]  # fmt: skip
    if identity:
        cmd += ["-i", identity, "-o", "IdentitiesOnly=yes"]
    if known_hosts:
        cmd += ["-o", f"UserKnownHostsFile={known_hosts}"]
    if parts.username:
        cmd += ["-l", parts.username]
    if parts.port:
        cmd += ["-p", str(parts.port)]
    return [*cmd, "--", parts.hostname, "docker system dial-stdio"]


class SshTunnel:
    """A private unix socket whose every connection is one ``docker system dial-stdio``.

    ``last_error`` holds what ssh said on stderr when it last failed, so a refused host key
    or key can be explained instead of showing a bare "connection aborted".
    """

    def __init__(self, command: Sequence[str]) -> None:
        self.command = list(command)
        self.folder = Path(tempfile.mkdtemp(prefix="dockyard-ssh-"))
        self.folder.chmod(0o700)
        self.path = self.folder / "docker.sock"
        self.last_error = ""
        self._closed = False
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen(16)
        self._thread = threading.Thread(target=self._accept, name="ssh-tunnel", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            processes = list(self._processes)
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        for process in processes:
            _stop(process)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(conn,), name="ssh-tunnel-conn", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)  # a frozen app's libraries must not reach ssh
        try:
            process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # Ctrl-C in a terminal must not kill the transport
            )
        except OSError as exc:
            self.last_error = f"cannot run ssh: {exc}"
            conn.close()
            return
        with self._lock:
            if self._closed:
                _stop(process)
                conn.close()
                return
            self._processes.add(process)
        stderr: list[bytes] = []
        readers = [
            threading.Thread(target=_copy_in, args=(conn, process), daemon=True),
            threading.Thread(target=_drain, args=(process, stderr), daemon=True),
        ]
        for reader in readers:
            reader.start()
        assert process.stdout is not None
        while data := _read(process.stdout.fileno()):
            try:
                conn.sendall(data)
            except OSError:
                break
        # Record ssh's reason before the client sees the connection end.
        code = _stop(process)
        readers[1].join(timeout=5)
        text = b"".join(stderr).decode(errors="replace").strip()
        if code not in (0, None, -15) and text:
            self.last_error = text
            log.info("ssh to the Docker endpoint failed: %s", text)
        with self._lock:
            self._processes.discard(process)
        for pipe in (process.stdin, process.stdout, process.stderr):
            with contextlib.suppress(OSError, ValueError):
                if pipe is not None:
                    pipe.close()
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, CHUNK)
    except OSError:
        return b""


def _copy_in(conn: socket.socket, process: subprocess.Popen[bytes]) -> None:
    assert process.stdin is not None
    try:
        while data := conn.recv(CHUNK):
            process.stdin.write(data)
            process.stdin.flush()
    except (OSError, ValueError):
        pass
    with contextlib.suppress(OSError, ValueError):
        process.stdin.close()
    # HTTP clients never half-close: the end of the request side means the client left,
    # and a streamed build or push must stop on the daemon too.
    try:
        process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        process.terminate()


def _drain(process: subprocess.Popen[bytes], into: list[bytes]) -> None:
    assert process.stderr is not None
    with contextlib.suppress(OSError, ValueError):
        while data := process.stderr.read(4096):
            into.append(data)


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    try:
        return process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.terminate()
    try:
        return process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
