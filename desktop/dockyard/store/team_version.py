"""The team schema's version on the server, read through either client (psycopg's
connection or ``store/pg_wire.py``'s session: neither is imported here)."""

from __future__ import annotations

from typing import Any, Protocol

from dockyard.core.errors import UserInputError
from dockyard.store.team_schema import TEAM_MIGRATIONS

NEWEST = len(TEAM_MIGRATIONS)


class Reading(Protocol):
    def execute(self, query: str, /) -> Any: ...


def schema_version(connection: Reading) -> int:
    """0 when the schema was never created on this database."""
    exists = connection.execute("SELECT to_regclass('dockyard.meta') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = connection.execute(
        "SELECT value FROM dockyard.meta WHERE key = 'schema_version'"
    ).fetchone()
    return int(row[0]) if row else 0


def check_schema(connection: Reading) -> int:
    """The schema version, refusing a schema this client does not know (newer) or none."""
    version = schema_version(connection)
    if version == 0:
        raise UserInputError(
            "The team ledger has no Dockyard schema yet; a team admin runs: dockyard team init"
        )
    if version > NEWEST:
        raise UserInputError(
            f"The team ledger's schema is version {version}, newer than this Dockyard knows "
            f"({NEWEST}); update Dockyard before writing to it."
        )
    if version < NEWEST:
        raise UserInputError(
            f"The team ledger's schema is version {version}; this Dockyard needs {NEWEST}. "
            "A team admin runs: dockyard team init"
        )
    return version
