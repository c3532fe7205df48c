"""Where Dockyard keeps its database, logs and settings (``DOCKYARD_HOME``)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import platformdirs

# Present when the home is connected to a team ledger (engine/team.py).
TEAM_SETTINGS_FILE = "team.json"


def dockyard_home() -> Path:
    configured = os.environ.get("DOCKYARD_HOME")
    home = Path(configured) if configured else Path(platformdirs.user_data_dir("dockyard"))
    home.mkdir(parents=True, exist_ok=True)
    return home


def current_identity() -> str:
    """Who is acting: ``DOCKYARD_USER``, else git's user.email, else the OS login."""
    configured = os.environ.get("DOCKYARD_USER", "").strip()
    if configured:
        return configured
    try:
        import git  # local import: GitPython is slow to import and rarely needed here

        email = git.GitConfigParser(read_only=True).get_value("user", "email", "")
        if email:
            return str(email).strip()
    except Exception:  # noqa: BLE001 - no git config is a normal state
        pass
    return getpass.getuser()
