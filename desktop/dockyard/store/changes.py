"""Noticing that someone else wrote to the database.

The window's views read the store when they are shown; runs started by ``dockyard run`` in
a terminal, approvals given with ``dockyard approve`` or in another window, and the
window's own pipeline processes all write to it from other connections. SQLite's
``PRAGMA data_version`` changes whenever another connection commits, so one cheap query on
a connection of our own tells whether anything is worth re-reading. On the team ledger the
server's notifications (LISTEN/NOTIFY) tell it; after the server was away, the first look
that reaches it again counts as a change (anything may have happened meanwhile).
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
        self._lost = False  # the connection failed: start again with a new one

    def changed(self) -> bool:
        try:
            if self._connection is None:
                self._connection = self._db.open_private("watching")
                if self._lost:
                    self._seen = None  # a new connection counts anew
            version = self._db.change_marker(self._connection)
        except Exception:
            self._lost = True
            self._drop()
            raise
        changed = (self._seen is not None and version != self._seen) or self._lost
        self._seen = version
        self._lost = False
        return changed

    def _drop(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone
            self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
