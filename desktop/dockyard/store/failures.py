"""Failures of the disk and of the database file, as the one sentence a user sees.

The CLI, the window's workers and the pipeline runner all pass unexpected exceptions
through ``store_failure`` before calling anything "unexpected".
"""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.core.errors import InfrastructureError
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
