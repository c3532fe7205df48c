"""The team ledger's server: schema versions, members and who may approve what.

Members are PostgreSQL login roles in the ``dockyard_member`` group; the server knows who
is connected (``session_user``), so identities are never taken from the client. The rules
themselves are in ``team_schema.py``; this module creates and migrates them and keeps
the rights tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.store.pg_ledger import rule_refusal
from dockyard.store.team_schema import ADMIN_ROLE, MEMBER_ROLE, ROLES, TEAM_MIGRATIONS
from dockyard.store.team_version import NEWEST, schema_version
from dockyard.store.team_version import check_schema as check_schema  # the admin commands'

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_.@-]{0,62}$")


@dataclass(frozen=True)
class Member:
    name: str
    admin: bool
    approves: tuple[str, ...]  # "ENV" or "REPO ENV"


def init_schema(connection: psycopg.Connection) -> tuple[int, int]:
    """Create or migrate the schema; idempotent. Returns (version before, version now)."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('dockyard.schema'))")
        connection.execute(ROLES)
        before = schema_version(connection)
        if before > NEWEST:
            raise UserInputError(
                f"The team ledger's schema is version {before}, newer than this Dockyard "
                f"knows ({NEWEST}); update Dockyard."
            )
        if before == 0:
            connection.execute("CREATE SCHEMA IF NOT EXISTS dockyard")
        for version, script in enumerate(TEAM_MIGRATIONS, start=1):
            if version <= before:
                continue
            connection.execute(script)
            connection.execute(
                "INSERT INTO dockyard.meta (key, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )
    return before, NEWEST


def valid_member_name(name: str) -> str:
    if not _ROLE_NAME.match(name):
        raise UserInputError(
            f"{name!r} is not a usable member name: use lower-case letters, digits and "
            "_ . @ - (at most 63 characters), starting with a letter or _."
        )
    return name


def add_member(
    connection: psycopg.Connection, name: str, password: str, *, admin: bool = False
) -> None:
    valid_member_name(name)
    if not password:
        raise UserInputError("A member needs a password; give it on standard input.")
    role = sql.Identifier(name)
    with connection.transaction():
        exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
        if exists.fetchone():
            raise UserInputError(f"{name} is already a role on this server; pick another name.")
        # The password is passed as a literal: CREATE ROLE takes no parameters.
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                role, sql.Literal(password), sql.Identifier(MEMBER_ROLE)
            )
        )
        if admin:
            connection.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ADMIN_ROLE), role))


def grant_approval(
    connection: psycopg.Connection, name: str, environment: str, repo: str = ""
) -> None:
    with connection.transaction():
        connection.execute(
            "INSERT INTO dockyard.approvers (member, repo, environment) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (name, repo, environment),
        )


def remove_member(connection: psycopg.Connection, name: str) -> None:
    valid_member_name(name)
    with connection.transaction():
        row = connection.execute(
            "SELECT pg_has_role(%s, %s, 'MEMBER')", (name, MEMBER_ROLE)
        ).fetchone()
        if not row or not row[0]:
            raise UserInputError(f"{name} is not a member of this team.")
        connection.execute("DELETE FROM dockyard.approvers WHERE member = %s", (name,))
        # The role keeps no objects (tables belong to the schema owner): it can go. Its
        # name stays in the ledger's history, which never changes.
        connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def members(connection: psycopg.Connection) -> list[Member]:
    rows = connection.execute(
        "SELECT r.rolname, pg_has_role(r.rolname, %s, 'MEMBER'),"
        " coalesce(array_agg(CASE WHEN a.repo = '' THEN a.environment"
        "  ELSE a.repo || ' ' || a.environment END ORDER BY a.repo, a.environment)"
        "  FILTER (WHERE a.environment IS NOT NULL), '{}')"
        " FROM pg_roles r LEFT JOIN dockyard.approvers a ON a.member = r.rolname"
        " WHERE r.rolcanlogin AND pg_has_role(r.rolname, %s, 'MEMBER')"
        " GROUP BY r.rolname ORDER BY r.rolname",
        (ADMIN_ROLE, MEMBER_ROLE),
    ).fetchall()
    return [Member(name, bool(admin), tuple(approves)) for name, admin, approves in rows]


def protect(
    connection: psycopg.Connection, environment: str, *, repo: str = "", required: int = 1
) -> None:
    if required < 1:
        raise UserInputError("--required must be 1 or more.")
    with connection.transaction():
        connection.execute(
            "INSERT INTO dockyard.protected (repo, environment, required) VALUES (%s, %s, %s)"
            " ON CONFLICT (repo, environment) DO UPDATE SET required = excluded.required,"
            " protected_by = session_user",
            (repo, environment, required),
        )


def refused(error: psycopg.Error) -> UserInputError | InfrastructureError:
    """The server's refusal of a rule, as the sentence the user reads."""
    message = error.diag.message_primary or str(error)
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return rule_refusal(message)
    return InfrastructureError(
        f"The team ledger refused the write: {message.removeprefix('dockyard: ')}."
    )
