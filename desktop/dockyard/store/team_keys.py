"""The team's key for secret fingerprints, kept in the team ledger (team schema v3)."""

from __future__ import annotations

import base64

from dockyard.store.sql import Database


def shared_fingerprint_key(db: Database) -> bytes | None:
    """The team's key, or None for the local ledger (whose key is in the OS keyring)."""
    if db.dialect != "postgres":
        return None
    row = db.connect().execute("SELECT value FROM meta WHERE key = 'fingerprint_key'").fetchone()
    return base64.b64decode(row[0]) if row else None
