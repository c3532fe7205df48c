"""This machine's settings: its Docker endpoints, what the trigger poller last saw, and
which registries have a Dockyard login (the password is in this machine's keyring).

Kept in the local database (``database.machine_database``) even when the ledger is a
team's: they describe this machine's daemons and its polling, not the team's releases.
Endpoint rows hold names, URLs and file paths only; secrets live in the keyring.
"""

from __future__ import annotations

import json

from dockyard.core.model import utcnow
from dockyard.store.columns import time_to_text
from dockyard.store.sql import Database

# The endpoint settings besides the name, as columns (store/migrations.py, SCHEMA_V4).
ENDPOINT_FIELDS = (
    "url", "tls_ca", "tls_cert", "tls_key", "ssh_config", "ssh_identity", "ssh_known_hosts",
    "context",
)  # fmt: skip

Refs = dict[tuple[str, str], str]  # (kind, name) -> commit


class MachineSettings:
    def __init__(self, db: Database) -> None:
        self.db = db

    def endpoints(self) -> dict[str, dict[str, str]]:
        """name -> its settings (empty ones left out), by name."""
        rows = self.db.connect().execute("SELECT * FROM endpoints ORDER BY name").fetchall()
        return {row["name"]: {key: row[key] for key in ENDPOINT_FIELDS if row[key]} for row in rows}

    def put_endpoints(self, endpoints: dict[str, dict[str, str]], *, replace: bool) -> None:
        """Save each; one already there is kept unless ``replace`` (an import keeps it)."""
        conflict = "DO UPDATE SET " + ", ".join(f"{k} = excluded.{k}" for k in ENDPOINT_FIELDS)
        with self.db.transaction() as connection:
            for name, settings in endpoints.items():
                connection.execute(
                    f"INSERT INTO endpoints (name, {', '.join(ENDPOINT_FIELDS)})"
                    f" VALUES (?{', ?' * len(ENDPOINT_FIELDS)})"
                    f" ON CONFLICT (name) {conflict if replace else 'DO NOTHING'}",
                    (name, *(str(settings.get(key) or "") for key in ENDPOINT_FIELDS)),
                )

    def remove_endpoint(self, name: str) -> bool:
        with self.db.transaction() as connection:
            return connection.execute("DELETE FROM endpoints WHERE name = ?", (name,)).rowcount > 0

    def watched_refs(self, location: str) -> Refs | None:
        """What the poller last saw of ``location``; None before its first look."""
        row = (
            self.db.connect()
            .execute("SELECT refs FROM watched_refs WHERE location = ?", (location,))
            .fetchone()
        )
        if row is None:
            return None
        return {(kind, name): commit for kind, name, commit in json.loads(row["refs"])}

    def put_watched_refs(self, location: str, refs: Refs, *, replace: bool = True) -> None:
        """Record what the poller saw; an import (``replace=False``) never overwrites."""
        listed = json.dumps([[kind, name, commit] for (kind, name), commit in sorted(refs.items())])
        update = "DO UPDATE SET refs = excluded.refs, seen = excluded.seen"
        with self.db.transaction() as connection:
            connection.execute(
                "INSERT INTO watched_refs (location, refs, seen) VALUES (?, ?, ?)"
                f" ON CONFLICT (location) {update if replace else 'DO NOTHING'}",
                (location, listed, time_to_text(utcnow())),
            )

    def swap_watched_refs(self, location: str, refs: Refs) -> Refs | None:
        """Record what the poller sees now and return what was seen before, at once: two
        pollers of this machine (a window, ``dockyard watch``) never both find a ref new."""
        with self.db.transaction():
            previous = self.watched_refs(location)
            self.put_watched_refs(location, refs)
        return previous

    def put_back_watched_ref(
        self, location: str, ref: tuple[str, str], seen: str, previous: str | None
    ) -> None:
        """Undo seeing ``ref`` at ``seen`` (its run could not be recorded), so that the next
        look finds it new again; unless a later look saw it move on meanwhile."""
        with self.db.transaction():
            refs = self.watched_refs(location)
            if refs is None or refs.get(ref) != seen:
                return
            if previous is None:
                del refs[ref]
            else:
                refs[ref] = previous
            self.put_watched_refs(location, refs)

    def registry_logins(self) -> dict[str, str]:
        """registry -> user of its Dockyard login."""
        rows = self.db.connect().execute("SELECT * FROM registry_logins ORDER BY registry")
        return {row["registry"]: row["username"] for row in rows.fetchall()}

    def put_registry_logins(self, logins: dict[str, str], *, replace: bool = True) -> None:
        """Record each; an import (``replace=False``) never overwrites."""
        update = "DO UPDATE SET username = excluded.username"
        with self.db.transaction() as connection:
            for registry, username in logins.items():
                connection.execute(
                    "INSERT INTO registry_logins (registry, username) VALUES (?, ?)"
                    f" ON CONFLICT (registry) {update if replace else 'DO NOTHING'}",
                    (registry, username),
                )

    def remove_registry_login(self, registry: str) -> None:
        with self.db.transaction() as connection:
            connection.execute("DELETE FROM registry_logins WHERE registry = ?", (registry,))
