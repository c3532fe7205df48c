"""Failures of the disk and of the database file, as the one sentence a user sees.

The CLI, the window's workers and the pipeline runner all pass unexpected exceptions
through ``store_failure`` before calling anything "unexpected".
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from dockyard.core.errors import InfrastructureError, LedgerCannotRecord
from dockyard.store.database import DATABASE_FILE
from dockyard.store.diskspace import disk_full_error, is_disk_full
from dockyard.store.integrity import damaged_error, is_damage


def store_failure(error: BaseException, home: Path | None = None) -> InfrastructureError | None:
    """The sentence for a full disk or a damaged database (exit 3); None for anything else."""
    if home is None and os.environ.get("DOCKYARD_HOME"):
        home = Path(os.environ["DOCKYARD_HOME"])
    if is_disk_full(error):
        return disk_full_error(home)
    if is_damage(error):
        path = home / DATABASE_FILE if home is not None else Path(DATABASE_FILE)
        return damaged_error(path, str(error))
    return None


def cannot_record(error: BaseException | None) -> bool:
    """``error`` (or what caused it) says the ledger cannot record now, and will once it is
    back: the team server away, a full disk, another program holding the database's lock.
    Anything else (a process that cannot start, a damaged file) is not waited out."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, LedgerCannotRecord) or is_disk_full(error):
            return True
        if isinstance(error, sqlite3.OperationalError) and any(
            word in str(error) for word in ("locked", "busy")
        ):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False
