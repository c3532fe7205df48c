"""A full disk under DOCKYARD_HOME: recognised wherever it surfaces (a log write, a
database commit, an export), and a little room kept aside so that a run which filled the
disk can still record that it failed and why.

The reserve is a plain file of zeros; a run makes it when it is missing (and there is
room), and gives it up the moment the disk is full, just before recording the failure.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
from pathlib import Path

from dockyard.core.errors import InfrastructureError

RESERVE_FILE = "disk-reserve"
RESERVE_BYTES = 512 * 1024
OPEN_ROOM_BYTES = 64 * 1024


def is_disk_full(error: BaseException | None) -> bool:
    """``error`` (or what caused it) says the disk or the quota is full."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(error, sqlite3.Error) and (
            getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "database or disk is full" in str(error)
        ):
            return True
        # A local tool (git) quoting strerror; case-sensitive on purpose: the Docker daemon
        # (Go) says "no space left on device" about its own disk, which is another matter.
        if "No space left on device" in str(error):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def is_out_of_room(folder: Path) -> bool:
    """Less free space under ``folder`` than SQLite needs to open a file (its WAL index)."""
    try:
        return shutil.disk_usage(folder).free < OPEN_ROOM_BYTES
    except OSError:
        return False


def disk_full_error(home: Path | None = None) -> InfrastructureError:
    where = f"DOCKYARD_HOME ({home})" if home is not None else "DOCKYARD_HOME"
    return InfrastructureError(
        f"The disk holding {where} is full; free some space on it (finished runs and their "
        "logs are kept) and try again."
    )


def keep_reserve(home: Path) -> None:
    """Make the reserve file if it is missing; quietly do without when there is no room."""
    path = home / RESERVE_FILE
    if path.exists():
        return
    try:
        with path.open("wb") as out:
            out.write(bytes(RESERVE_BYTES))
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()


def release_reserve(home: Path) -> None:
    """Give the reserved room back, so the failure can be recorded."""
    with contextlib.suppress(OSError):
        (home / RESERVE_FILE).unlink()
