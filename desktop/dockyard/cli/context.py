"""What every command needs: the home folder, the ledger, who acts, the repository key."""

from __future__ import annotations

import atexit
import contextlib
import sys

from dockyard.core.locations import is_url, normalise_location
from dockyard.engine.home import dockyard_home
from dockyard.engine.ledger_source import (
    ignored_user_note,
    open_ledger,
    shared_location,
)
from dockyard.store.database import Database
from dockyard.store.repositories import RepositoryStore


def database() -> Database:
    """The ledger this home uses: the local database, or the team's when connected;
    closed as the command's process ends (SQLite folds its WAL file back in, the team
    server is told goodbye), before ``__main__`` leaves the rest to the exit."""
    db = open_ledger(dockyard_home())
    atexit.register(_close, db)
    note = ignored_user_note(db)
    if note:
        print(f"dockyard: {note}", file=sys.stderr)
    return db


def _close(db: Database) -> None:
    with contextlib.suppress(Exception):  # the process ends either way
        db.close()


def repo_key(argument: str, db: Database | None = None) -> str:
    """REPO as the user typed it: a registered name, a path or a git URL. In team mode a
    local clone is known by its origin URL, as every other member's clone is."""
    if not is_url(argument) and "/" not in argument and argument not in (".", ".."):
        registered = RepositoryStore(db or database()).get(argument)
        if registered is not None:
            return registered.location
    location = normalise_location(argument)
    if db is not None and db.dialect == "postgres":
        return shared_location(location)
    return location


def print_waiting(message: str) -> None:
    """Tell, on stderr, that a deployment waits for another one to the environment."""
    print(f"dockyard: {message}", file=sys.stderr, flush=True)
