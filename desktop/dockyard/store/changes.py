"""Noticing that someone else wrote to the database.

The window's views read the store when they are shown; runs started by ``dockyard run`` in
a terminal, approvals given with ``dockyard approve`` or in another window, and the
window's own pipeline processes all write to it from other connections. SQLite's
``PRAGMA data_version`` changes whenever another connection commits, so one cheap query on
a connection of our own tells whether anything is worth re-reading.
"""

from __future__ import annotations

from dockyard.store.database import Database
from dockyard.store.sql import SqlConnection


class ExternalChanges:
    """``changed()`` is True once after each commit made through another connection.

    Call it from one thread at a time (it owns one connection); not from a UI thread.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._connection: SqlConnection | None = None
        self._seen: object = None

    def changed(self) -> bool:
        if self._connection is None:
            self._connection = self._db.open_private()
        version = self._db.change_marker(self._connection)
        changed = self._seen is not None and version != self._seen
        self._seen = version
        return changed

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
