"""Which ledger a command or the window works on: the local SQLite file, or the team's.

A home connected with ``dockyard team connect`` keeps the team server in ``team.json``;
then every command reads and writes the team ledger, and who acts is the role the server
authenticated, never ``DOCKYARD_USER``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.core.locations import is_url, normalise_location
from dockyard.engine.home import TEAM_SETTINGS_FILE, current_identity
from dockyard.store.database import Database, open_database


def in_team_mode(home: Path) -> bool:
    return (home / TEAM_SETTINGS_FILE).exists()


def open_ledger(home: Path) -> Database:
    """The team ledger when ``home`` is connected to one, else the local database."""
    if not in_team_mode(home):
        return open_database(home)
    # psycopg takes about half a second to import: only team mode pays for it.
    from dockyard.engine.team import open_team_ledger

    return open_team_ledger(home)


def acting_identity(db: Database) -> str:
    """Who acts: the team server's word for the logged-in role, else ``DOCKYARD_USER``,
    git's user.email or the OS login (``current_identity``)."""
    server_says = getattr(db, "identity", None)
    if db.dialect == "postgres" and isinstance(server_says, str):
        return server_says
    return current_identity()


def ignored_user_note(db: Database) -> str | None:
    """The sentence for someone who set ``DOCKYARD_USER`` in team mode, else None."""
    typed = os.environ.get("DOCKYARD_USER", "").strip()
    if db.dialect != "postgres" or not typed:
        return None
    who = acting_identity(db)
    if typed.lower() == who.lower():
        return None
    return f"DOCKYARD_USER={typed} is ignored in team mode: the team server knows you as {who}."


def shared_location(location: str) -> str:
    """In team mode a clone is known by its ``origin`` URL, so that the developer's clone
    and the release manager's clone meet in the ledger. A URL stays as it is."""
    if is_url(location):
        return location
    clone = Path(location)
    try:
        found = subprocess.run(
            ["git", "-C", str(clone), "config", "--get", "remote.origin.url"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(f"Cannot run git to read the origin of {clone} ({exc}).") from exc
    origin = found.stdout.strip()
    if not origin:
        raise UserInputError(
            f"{clone} has no remote 'origin'; in team mode repositories are shared by their "
            "origin URL: add one (git remote add origin URL) or use the local ledger "
            "(dockyard team disconnect)."
        )
    if is_url(origin) or origin.startswith("/"):
        return normalise_location(origin)
    return normalise_location(str(clone / origin))  # a path relative to the clone
