"""Team mode: which PostgreSQL server holds the shared ledger, and how to log in to it.

The server's URL is kept in ``DOCKYARD_HOME/team.json`` (never a password); the password
in the OS keyring, unless libpq finds one itself (a pgpass or service file) or client
certificates are used. A server that is not on this machine must be reached with TLS and
certificate verification (``sslmode=verify-full``), as plain-TCP Docker endpoints are
refused: a password or an approval must not cross a network in the clear.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import InfrastructureError, LedgerUnreachable, UserInputError
from dockyard.core.redaction import remember_secret
from dockyard.engine import keyring_store
from dockyard.engine.home import TEAM_SETTINGS_FILE
from dockyard.store import pg_versions
from dockyard.store.database import Database
from dockyard.store.pg_ledger import server_reason
from dockyard.store.pg_reading import PgReadingDatabase
from dockyard.store.pg_wire import Unsupported, WireError, WireSession, settings_for
from dockyard.store.team_version import check_schema, schema_version

if TYPE_CHECKING:  # psycopg is imported where it is used: a command that only reads
    import psycopg  # the ledger does without it (open_team_reader)

    from dockyard.store.pg import PgDatabase

SETTINGS_FILE = TEAM_SETTINGS_FILE
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class TeamServer:
    """Where the team ledger is: a libpq URL without its password."""

    url: str

    @property
    def params(self) -> dict[str, object]:
        said = _keywords(self.url)
        if said is None:  # a URI, or a value quoted as only libpq reads it
            from psycopg.conninfo import conninfo_to_dict

            said = dict(conninfo_to_dict(self.url))
        return said

    @property
    def user(self) -> str:
        return str(self.params.get("user") or "")

    @property
    def address(self) -> str:
        params = self.params
        host = str(params.get("host") or "localhost")
        return f"{host}:{params.get('port') or 5432}/{params.get('dbname') or self.user}"

    @property
    def label(self) -> str:
        """``user@host:port/database``: how sentences name the server."""
        return f"{self.user}@{self.address}"

    @property
    def keyring_key(self) -> str:
        return self.label


# libpq's ``keyword = value`` form, as ``parse_server`` keeps the URL (psycopg's
# make_conninfo); a value in single quotes escapes ' and \ with a backslash.
_KEYWORD = re.compile(r"\s*(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s'\\]+))\s*")


def _keywords(conninfo: str) -> dict[str, object] | None:
    """The keywords of a ``keyword = value`` string without importing psycopg; None for
    anything else."""
    params: dict[str, object] = {}
    at = 0
    while at < len(conninfo):
        found = _KEYWORD.match(conninfo, at)
        if found is None:
            return None
        quoted = found[2]
        params[found[1]] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else found[3]
        at = found.end()
    return params


def parse_server(url: str) -> tuple[TeamServer, str | None]:
    """The server of ``url`` and the password it carried, if any (kept out of the URL)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise UserInputError(
            f"{url!r} is not a PostgreSQL URL ({exc}); write it as "
            "postgresql://USER@HOST:PORT/DATABASE?sslmode=verify-full"
        ) from exc
    password = params.pop("password", None)
    if not params.get("user"):
        raise UserInputError(
            "The URL names no user; write it as postgresql://USER@HOST:PORT/DATABASE."
        )
    host = str(params.get("host") or "")
    if not _on_this_machine(host) and params.get("sslmode") != "verify-full":
        raise UserInputError(
            f"The team server {host} is not on this machine: connect with TLS and certificate "
            "verification (add ?sslmode=verify-full&sslrootcert=CA.pem to the URL)."
        )
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
    params.setdefault("application_name", "dockyard")
    return TeamServer(make_conninfo("", **params)), (str(password) if password else None)


def _on_this_machine(host: str) -> bool:
    if not host or host.startswith("/") or host == "localhost":
        return True  # a Unix socket, or libpq's default (a socket)
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def saved_server(home: Path) -> TeamServer | None:
    """The team server this home is connected to, or None (the local ledger)."""
    path = home / SETTINGS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UserInputError(
            f"{path} is unreadable ({exc}); connect again with: dockyard team connect URL"
        ) from exc
    url = data.get("url") if isinstance(data, dict) else None
    return TeamServer(url) if isinstance(url, str) and url else None


def _stored_password(server: TeamServer) -> str | None:
    # Without a keyring libpq may still find a pgpass file or use a client certificate.
    return keyring_store.read_quietly(keyring_store.TEAM, server.keyring_key)


def open_connection(server: TeamServer, password: str | None = None) -> psycopg.Connection:
    """A connection to the team server, its refusals said in one sentence."""
    import psycopg

    secret = password if password is not None else _stored_password(server)
    if secret:
        remember_secret(secret)
    try:
        return psycopg.connect(server.url, password=secret, autocommit=True)
    except psycopg.OperationalError as exc:
        raise _connect_error(server, exc) from exc


def _connect_error(server: TeamServer, exc: Exception) -> Exception:
    """A login refused or a server not reached (psycopg's error or the light client's)."""
    text = server_reason(exc)
    refused_login = (
        "password authentication failed",
        "no password supplied",
        "role",
        "certificate",
        "pg_hba.conf",
    )
    if any(marker in str(exc) for marker in refused_login) and "Connection refused" not in str(exc):
        return UserInputError(
            f"The team server {server.address} refused the login of {server.user} ({text}); "
            "check the user name and password, then: dockyard team connect URL"
        )
    return LedgerUnreachable(
        f"The team server {server.label} is unreachable ({text}); check that it runs "
        "and that this machine may reach it."
    )


@dataclass(frozen=True)
class Connected:
    server: TeamServer
    schema_version: int


def connect(home: Path, url: str, password: str | None) -> Connected:
    """Check the login, keep the URL in ``home`` and the password in the keyring."""
    server, in_url = parse_server(url)
    secret = password or in_url
    with open_connection(server, secret) as connection:
        version = schema_version(connection)
    if secret:
        keyring_store.write(keyring_store.TEAM, server.keyring_key, secret)
    (home / SETTINGS_FILE).write_text(json.dumps({"url": server.url}, indent=2) + "\n")
    return Connected(server, version)


def disconnect(home: Path) -> TeamServer | None:
    server = saved_server(home)
    (home / SETTINGS_FILE).unlink(missing_ok=True)
    if server is not None:
        # Nothing stored, or no keyring: nothing to forget.
        with contextlib.suppress(keyring_store.KeyringUnavailable):
            keyring_store.delete(keyring_store.TEAM, server.keyring_key)
    return server


def require_server(home: Path) -> TeamServer:
    server = saved_server(home)
    if server is None:
        raise UserInputError(
            "This Dockyard is not connected to a team ledger; connect with: "
            "dockyard team connect postgresql://USER@HOST:PORT/DATABASE"
        )
    return server


@dataclass(frozen=True)
class TeamStatus:
    server: str
    reachable: bool
    error: str
    schema_version: int
    me: str
    admin: bool
    approves: tuple[str, ...]


def team_status(home: Path) -> TeamStatus:
    server = require_server(home)
    try:
        connection = open_connection(server)
    except (UserInputError, InfrastructureError) as exc:
        return TeamStatus(server.address, False, exc.message, 0, server.user, False, ())
    with connection:
        version = schema_version(connection)
        row = connection.execute(
            "SELECT session_user, pg_has_role(session_user, 'dockyard_admin', 'MEMBER')"
            " FROM pg_roles WHERE rolname = 'dockyard_admin'"
        ).fetchone()
        me, admin = (str(row[0]), bool(row[1])) if row else (server.user, False)
        approves: tuple[str, ...] = ()
        if version:
            check_schema(connection)
            rows = connection.execute(
                "SELECT CASE WHEN repo = '' THEN environment ELSE repo || ' ' || environment END"
                " FROM dockyard.approvers WHERE lower(member) = lower(session_user)"
                " ORDER BY repo, environment"
            ).fetchall()
            approves = tuple(str(r[0]) for r in rows)
    return TeamStatus(server.address, True, "", version, me, admin, approves)


def open_team_ledger(home: Path, role: str = "") -> PgDatabase:
    """The team ledger as the store's database; refuses a schema this client does not know.
    Its sessions are named after the URL's ``application_name`` and ``role`` ("dockyard
    window"), and what each connection is for ("dockyard window (listening)")."""
    server = require_server(home)
    return _team_ledger(server, _stored_password(server), role)


def _team_ledger(server: TeamServer, password: str | None, role: str) -> PgDatabase:
    pg_versions.preset()
    import psycopg
    from psycopg.conninfo import make_conninfo

    from dockyard.store.pg import PgDatabase

    def connect_raw(**naming: str) -> psycopg.Connection:
        url = make_conninfo(server.url, **naming)
        try:
            return psycopg.connect(url, password=password, autocommit=True)
        except psycopg.OperationalError as exc:
            raise _connect_error(server, exc) from exc

    return PgDatabase(connect_raw, server.label, _session_name(server, role))


def open_team_reader(home: Path, role: str = "") -> Database:
    """The team ledger for a command that only reads (status, runs): its reads through
    the light client (store/pg_wire.py), which spares the command psycopg's import; its
    writes, if any, through psycopg. All of it through psycopg when the URL, the login or
    the server asks for what the light client does not do as libpq would."""
    server = require_server(home)
    password = _stored_password(server)
    params = server.params
    try:
        if not _on_this_machine(str(params.get("host") or "")) and (
            params.get("sslmode") != "verify-full"
        ):
            raise Unsupported("a server elsewhere without verify-full")  # psycopg's, as before
        settings = settings_for(params, password)

        def connect(startup: Mapping[str, str]) -> WireSession:
            try:
                return WireSession(settings, startup)
            except WireError as exc:
                raise _connect_error(server, exc) from exc

        return PgReadingDatabase(
            connect, lambda: _team_ledger(server, password, role), server.label,
            _session_name(server, role),
        )  # fmt: skip
    except Unsupported:
        return _team_ledger(server, password, role)


def _session_name(server: TeamServer, role: str) -> str:
    return f"{server.params.get('application_name') or 'dockyard'} {role}".strip()
