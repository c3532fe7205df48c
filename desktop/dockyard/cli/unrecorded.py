"""What ``status`` and ``audit verify`` add when the store is new or empty: the
deployments the daemons run with Dockyard's labels, which this store has no record of."""

from __future__ import annotations

import sys
from pathlib import Path

from dockyard.store.database import Database, SqliteDatabase


def store_name(db: Database) -> str:
    return str(db.path) if isinstance(db, SqliteDatabase) else "(the team ledger)"


def warn_of_unrecorded(home: Path, db: Database, repo: str | None = None) -> None:
    """One sentence on stderr when the daemons run what the store does not know."""
    from dockyard.engine.release.unrecorded import labelled_deployments  # asks the daemons

    found = labelled_deployments(home, repo)
    if not found:
        return
    whom = repo or "any repository"
    print(
        f"dockyard: warning: the store {store_name(db)} has no record of {whom} (it is new, or "
        f"was deleted or replaced), yet the Docker daemons run what Dockyard deployed: "
        f"{'; '.join(d.describe() for d in found)}; put back the store's backup, or run the "
        "pipeline of those releases again so they are recorded (docs/troubleshooting.md).",
        file=sys.stderr,
    )
