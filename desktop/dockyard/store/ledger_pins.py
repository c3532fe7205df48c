"""Pins in the SQLite release ledger: automatic deployment to an environment is paused
(after a rollback) until someone unpins it (see ``ledger.py``)."""

from __future__ import annotations

from dockyard.core.model import utcnow
from dockyard.core.redaction import redact
from dockyard.core.releases import Pin
from dockyard.store.columns import text_to_time, time_to_text
from dockyard.store.database import Database


class SqlitePins:
    _db: Database

    def pin(self, repo: str, environment: str, by: str, reason: str) -> Pin:
        """Pin the environment; pinning it again records the newer reason."""
        pin = Pin(repo, environment, by, reason, utcnow())
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO pins (repo, environment, pinned_by, reason, since)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (repo, environment) DO UPDATE SET"
                " pinned_by = excluded.pinned_by, reason = excluded.reason, since = excluded.since",
                (repo, environment, by, redact(reason), time_to_text(pin.since)),
            )
        return pin

    def unpin(self, repo: str, environment: str) -> bool:
        """Let automatic deployment resume; False when it was not pinned."""
        with self._db.transaction() as connection:
            cursor = connection.execute(
                "DELETE FROM pins WHERE repo = ? AND environment = ?", (repo, environment)
            )
        return cursor.rowcount > 0

    def pin_of(self, repo: str, environment: str) -> Pin | None:
        row = (
            self._db.connect()
            .execute("SELECT * FROM pins WHERE repo = ? AND environment = ?", (repo, environment))
            .fetchone()
        )
        if row is None:
            return None
        return Pin(
            row["repo"], row["environment"], row["pinned_by"], row["reason"],
            text_to_time(row["since"]),
        )  # fmt: skip
