"""A team ledger of its own per test: a database on the suite's PostgreSQL server with the
team schema, a developer and a release manager (who may approve production), and homes
connected to it the way a member does (``dockyard team connect``, password on stdin)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from dockyard.store import team
from dockyard.store.ledger_locks import SESSION_HOLDERS, lock_key
from dockyard.store.pg import translate

from .cli import run_dockyard
from .postgres import PostgresServer


@dataclass
class TeamDatabase:
    server: PostgresServer
    name: str

    @property
    def developer(self) -> str:
        return f"dev_{self.name}"

    @property
    def release_manager(self) -> str:
        return f"rm_{self.name}"

    def password(self, member: str) -> str:
        return f"pw-{member}"

    def url(self, member: str) -> str:
        return self.server.url(user=member, database=self.name)

    def admin(self) -> psycopg.Connection:
        """The schema owner (the suite's superuser), autocommit."""
        return psycopg.connect(self.server.dsn(dbname=self.name), autocommit=True)

    def connect_home(self, home: Path, member: str) -> None:
        joined = run_dockyard(
            home, "team", "connect", self.url(member), stdin=self.password(member)
        )
        assert joined.returncode == 0, joined.stderr

    def end_lock_session(self, repo: str, environment: str) -> list[tuple[bool]]:
        """The server ends the session that holds the environment's deployment lock (an
        admin, a restart, a pooler); what ``pg_terminate_backend`` said of each ended."""
        holders = translate(f"SELECT pg_terminate_backend(pid) FROM ({SESSION_HOLDERS}) AS h")
        with self.admin() as admin:
            return admin.execute(holders, (lock_key(repo, environment),)).fetchall()

    def allow_connections(self, allowed: bool) -> None:
        """Stand-in for the server going away and coming back: new logins are refused
        and every member's session is ended."""
        with psycopg.connect(self.server.dsn(), autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {self.name} ALLOW_CONNECTIONS {str(allowed).lower()}")
            if not allowed:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.name,),
                )


@contextmanager
def team_database(server: PostgresServer) -> Iterator[TeamDatabase]:
    """A fresh team database with its two members; dropped (with its roles) afterwards.
    A server a test stopped (an outage) is brought back first, on either side."""
    if server.process.poll() is not None:
        server.come_back()
    made = TeamDatabase(server, f"team_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {made.name}")
    with made.admin() as owner:
        team.init_schema(owner)
        team.add_member(owner, made.developer, made.password(made.developer))
        team.add_member(owner, made.release_manager, made.password(made.release_manager))
        team.grant_approval(owner, made.release_manager, "production")
        team.protect(owner, "production")
    try:
        yield made
    finally:
        if server.process.poll() is not None:
            server.come_back()  # a test that failed while it was away
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {made.name} WITH (FORCE)")
            for role in (made.developer, made.release_manager):
                admin.execute(f"DROP ROLE IF EXISTS {role}")
