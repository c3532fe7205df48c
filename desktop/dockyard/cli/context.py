"""What every command needs: the home folder, the database, the repository key."""

from __future__ import annotations

from dockyard.core.locations import is_url, normalise_location
from dockyard.engine.home import dockyard_home
from dockyard.store.database import Database, open_database
from dockyard.store.repositories import RepositoryStore


def database() -> Database:
    return open_database(dockyard_home())


def repo_key(argument: str, db: Database | None = None) -> str:
    """REPO as the user typed it: a registered name, a path or a git URL."""
    if not is_url(argument) and "/" not in argument and argument not in (".", ".."):
        registered = RepositoryStore(db or database()).get(argument)
        if registered is not None:
            return registered.location
    return normalise_location(argument)
