"""Where Dockyard keeps its database, logs and settings (``DOCKYARD_HOME``)."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

import platformdirs

# Present when the home is connected to a team ledger (engine/team.py).
TEAM_SETTINGS_FILE = "team.json"


def dockyard_home() -> Path:
    configured = os.environ.get("DOCKYARD_HOME")
    home = Path(configured) if configured else Path(platformdirs.user_data_dir("dockyard"))
    home.mkdir(parents=True, exist_ok=True)
    return home


def declared_identity() -> str:
    """``DOCKYARD_USER`` when set, else "": asks nothing, so any thread may call it."""
    return os.environ.get("DOCKYARD_USER", "").strip()


def current_identity() -> str:
    """Who is acting: ``DOCKYARD_USER``, else git's user.email, else the OS login (git is a
    subprocess: not for the UI thread)."""
    configured = declared_identity()
    if configured:
        return configured
    try:  # the user's and the system's git settings, not a repository's (GIT_DIR: none)
        done = subprocess.run(
            ["git", "config", "--get", "user.email"],
            env={**os.environ, "GIT_DIR": os.devnull},
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.stdout.strip():
            return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):  # no git: the OS login
        pass
    return getpass.getuser()
