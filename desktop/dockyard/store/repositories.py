"""The repositories the user added: a local path or a git URL, with a short unique name."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from dockyard.core.errors import UserInputError
from dockyard.core.locations import default_name, normalise_location
from dockyard.core.model import utcnow
from dockyard.store.columns import text_to_time, time_to_text
from dockyard.store.database import Database
from dockyard.store.sql import SqlConnection, SqlRow


@dataclass(frozen=True)
class Repository:
    id: int
    name: str
    location: str
    watch: bool
    added: datetime


class RepositoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, location: str, name: str | None = None) -> Repository:
        """Add a repository; adding the same location again returns the existing one."""
        location = normalise_location(location)
        with self._db.transaction() as connection:
            existing = self._find(connection, "location", location)
            if existing is not None:
                return existing
            if name is not None:
                if self._find(connection, "name", name) is not None:
                    raise UserInputError(
                        f"A repository named {name!r} already exists; choose another name."
                    )
            else:
                name = self._free_name(connection, default_name(location))
            connection.execute(
                "INSERT INTO repositories (name, location, watch, added) VALUES (?, ?, 0, ?)",
                (name, location, time_to_text(utcnow())),
            )
            added = self._find(connection, "location", location)
        assert added is not None
        return added

    def remove(self, id_or_location: int | str) -> bool:
        """Forget a repository (its runs and releases stay recorded); False when unknown."""
        with self._db.transaction() as connection:
            if isinstance(id_or_location, int):
                cursor = connection.execute(
                    "DELETE FROM repositories WHERE id = ?", (id_or_location,)
                )
            else:
                cursor = connection.execute(
                    "DELETE FROM repositories WHERE location = ? OR location = ? OR name = ?",
                    (id_or_location, _safe_normalise(id_or_location), id_or_location),
                )
        return cursor.rowcount > 0

    def get(self, name_or_location: str) -> Repository | None:
        connection = self._db.connect()
        found = self._find(connection, "name", name_or_location)
        if found is None:
            found = self._find(connection, "location", _safe_normalise(name_or_location))
        return found

    def list(self) -> builtins.list[Repository]:
        rows = self._db.connect().execute("SELECT * FROM repositories ORDER BY lower(name), name")
        return [_from_row(row) for row in rows]

    def set_watch(self, id: int, watch: bool) -> None:
        with self._db.transaction() as connection:
            connection.execute("UPDATE repositories SET watch = ? WHERE id = ?", (int(watch), id))

    @staticmethod
    def _find(connection: SqlConnection, column: str, value: str) -> Repository | None:
        row = connection.execute(
            f"SELECT * FROM repositories WHERE {column} = ?", (value,)
        ).fetchone()
        return None if row is None else _from_row(row)

    def _free_name(self, connection: SqlConnection, wanted: str) -> str:
        name, suffix = wanted, 2
        while self._find(connection, "name", name) is not None:
            name, suffix = f"{wanted}-{suffix}", suffix + 1
        return name


def _safe_normalise(location: str) -> str:
    try:
        return normalise_location(location)
    except UserInputError:
        return location


def _from_row(row: SqlRow) -> Repository:
    return Repository(
        id=row["id"],
        name=row["name"],
        location=row["location"],
        watch=bool(row["watch"]),
        added=text_to_time(row["added"]),
    )
