"""Debian's PostgreSQL server on a free loopback port, for team mode.

The server refuses to run as root, so as root ``initdb`` and ``postgres`` run as the
``postgres`` system user the package creates, with a data directory of their own in a
temp folder. Password authentication is ``scram-sha-256`` over TCP, as a team's server
would have it; the superuser's password is random per server.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .ports import free_port, wait_for_port

if TYPE_CHECKING:
    from dockyard.store.pg_wire import WireSession

SUPERUSER = "suite_owner"


class NoPostgres(RuntimeError):
    pass


@dataclass
class PostgresServer:
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    superuser: str
    password: str
    host: str = "127.0.0.1"

    def url(self, user: str | None = None, database: str = "postgres") -> str:
        """A libpq URL without a password (the caller passes it separately)."""
        return f"postgresql://{user or self.superuser}@{self.host}:{self.port}/{database}"

    def dsn(self, user: str | None = None, password: str | None = None, **extra: str) -> str:
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": user or self.superuser,
            "password": password if password is not None else self.password,
            "dbname": "postgres",
            **extra,
        }
        from psycopg.conninfo import make_conninfo  # quotes values with spaces

        return make_conninfo(**parts)

    def wire_session(
        self, database: str, user: str | None = None, password: str | None = None, **url: str
    ) -> Callable[[Mapping[str, str]], WireSession]:
        """How ``store/pg_reading.py`` opens a session of the light client here."""
        from dockyard.store.pg_wire import WireSession, settings_for

        params = {"host": self.host, "port": self.port, "user": user or self.superuser,
                  "dbname": database, **url}  # fmt: skip
        settings = settings_for(params, password if password is not None else self.password)
        return lambda startup: WireSession(settings, startup)

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: smart shutdown, waits for clients to leave
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def go_away(self) -> None:
        """An outage: the server stops now (fast shutdown: every session is cut), keeping
        its data and port for ``come_back``."""
        self._halt()

    def come_back(self) -> None:
        """Start the server again after ``go_away``: same data, same port."""
        assert self.process.poll() is not None, "the server still runs"
        self.process = _launch(_bin_dir(), self.root, self.port)

    def _halt(self) -> None:
        self.process.send_signal(2)  # SIGINT: fast shutdown, disconnects clients
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise NoPostgres("PostgreSQL is not installed (Debian package postgresql)")
    return Path(found[-1]).parent


def _as_server_user(command: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(command)
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise NoPostgres("no 'postgres' system user to run the server as") from exc
    return ["runuser", "-u", "postgres", "--", *command]


def _server_user_ids() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def start_postgres() -> PostgresServer:
    """initdb + postgres on a free loopback port; returns once it accepts connections."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="dockyard-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    password = secrets.token_urlsafe(18)
    password_file = root / "superuser-password"
    password_file.write_text(password)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (root, sockets, password_file):
            os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(root, 0o700)
    initdb = [
        str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={password_file}",
        "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
        "--no-instructions",
    ]  # fmt: skip
    subprocess.run(_as_server_user(initdb), check=True, capture_output=True)
    password_file.unlink()
    port = free_port()
    try:
        process = _launch(bin_dir, root, port)
    except NoPostgres:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return PostgresServer(port, root, process, SUPERUSER, password)


def _launch(bin_dir: Path, root: Path, port: int) -> subprocess.Popen[bytes]:
    """The server on ``root``'s data directory; returns once it takes logins."""
    postgres = [
        str(bin_dir / "postgres"), "-D", str(root / "data"), "-p", str(port),
        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root / 'sockets'}",
        "-c", "fsync=off", "-c", "max_connections=100",
    ]  # fmt: skip
    with open(root / "server.log", "ab") as log:  # the server keeps its own descriptor
        # The postmaster itself is the child (no runuser between), so that its signals
        # reach it: runuser does not pass SIGINT on and would leave the server running.
        process = subprocess.Popen(
            postgres, stdout=log, stderr=subprocess.STDOUT, **_server_user_ids()
        )
    if not (wait_for_port(port, timeout=30) and _ready(bin_dir, port)):
        process.kill()
        process.wait(timeout=10)
        text = (root / "server.log").read_text(errors="replace")[-2000:]
        raise NoPostgres(f"PostgreSQL did not start on port {port}: {text}")
    return process


def _ready(bin_dir: Path, port: int, timeout: float = 30.0) -> bool:
    """pg_isready: the port may accept connections before the server takes logins."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"],
            capture_output=True,
        )
        if probe.returncode == 0:
            return True
        time.sleep(0.1)
    return False
