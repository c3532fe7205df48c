"""Damage to the database file, found before anything is written into it.

``PRAGMA quick_check`` at open reads every page and checks the b-trees (about 1 ms for a
store of 1,000 runs, measured in tests/unit/test_store_integrity.py); a table missing from
the schema (dropped by hand) counts as damage too. A damaged store is refused with one
sentence saying how to restore it (docs/troubleshooting.md), never written to.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from dockyard.core.errors import InfrastructureError
from dockyard.store.migrations import MIGRATIONS
from dockyard.store.sql import SqlConnection

_DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
_DAMAGE_WORDS = ("malformed", "not a database", "no such table")
_CREATED_TABLE = re.compile(r"CREATE TABLE (\w+)", re.IGNORECASE)


class StoreDamaged(InfrastructureError):
    """The database file is corrupt or lost part of its schema."""


def expected_tables() -> set[str]:
    """The tables the migrations create (none of them drops one)."""
    return {name for script in MIGRATIONS for name in _CREATED_TABLE.findall(script)}


def damage_of(connection: SqlConnection) -> str:
    """What is wrong with the file, in a few words; ``""`` when it is sound."""
    rows = connection.execute("PRAGMA quick_check(3)").fetchall()
    problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
    if problems:
        return "; ".join(problems)
    if int(connection.execute("PRAGMA user_version").fetchone()[0]) != len(MIGRATIONS):
        return ""  # new, older (migrated next) or newer (refused by the migrations)
    present = {
        str(row[0])
        for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    missing = sorted(expected_tables() - present)
    return (
        f"the table{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing"
        if missing
        else ""
    )


def full_damage_of(connection: SqlConnection) -> str:
    """As ``damage_of``, with ``integrity_check`` (also compares indexes with their tables)."""
    rows = connection.execute("PRAGMA integrity_check(3)").fetchall()
    problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
    return "; ".join(problems) if problems else damage_of(connection)


def is_damage(error: BaseException) -> bool:
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    if getattr(error, "sqlite_errorcode", None) in _DAMAGE_CODES:
        return True
    return any(word in str(error) for word in _DAMAGE_WORDS)


def damaged_error(path: Path, what: str) -> StoreDamaged:
    rescued = path.with_name("dockyard-recovered.db")
    return StoreDamaged(
        f"The database {path} is damaged ({what}), so Dockyard will not write to it; stop "
        f"Dockyard and put back a backup copy of it, or rescue what is readable with "
        f"'sqlite3 {path} .recover | sqlite3 {rescued}' and move {rescued.name} in its place "
        "(see docs/troubleshooting.md)."
    )
