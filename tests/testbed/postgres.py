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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .ports import free_port, wait_for_port

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

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: smart shutdown, waits for clients to leave
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.send_signal(2)  # SIGINT: fast shutdown, disconnects clients
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


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
    postgres = [
        str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}",
        "-c", "fsync=off", "-c", "max_connections=100",
    ]  # fmt: skip
    with open(root / "server.log", "wb") as log:  # the server keeps its own descriptor
        process = subprocess.Popen(_as_server_user(postgres), stdout=log, stderr=subprocess.STDOUT)
    server = PostgresServer(port, root, process, SUPERUSER, password)
    if not (wait_for_port(port, timeout=30) and _ready(bin_dir, port)):
        process.kill()
        text = (root / "server.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(root, ignore_errors=True)
        raise NoPostgres(f"PostgreSQL did not start on port {port}: {text}")
    return server


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
