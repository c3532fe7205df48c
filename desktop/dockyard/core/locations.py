"""Repository locations: a local path or a git URL, and the key each is recorded under."""

from __future__ import annotations

import re
from pathlib import Path

from dockyard.core.errors import UserInputError

# "https://…", "ssh://…", "file://…" or scp-like "git@host:group/repo.git"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[\w.-]+@[\w.-]+:")


def is_url(location: str) -> bool:
    return bool(_URL.match(location))


def normalise_location(location: str) -> str:
    """The key a repository is known by: an absolute path, or the URL without a trailing /."""
    location = location.strip()
    if not location:
        raise UserInputError("The repository location is empty; give a path or a git URL.")
    if is_url(location):
        return location.rstrip("/")
    return str(Path(location).expanduser().resolve())


def default_name(location: str) -> str:
    """Last path/URL component without ``.git``: ``git@host:shop/web.git`` -> ``web``."""
    last = re.split(r"[/:\\]", location.rstrip("/\\"))[-1]
    name = last.removesuffix(".git")
    return name or "repository"
