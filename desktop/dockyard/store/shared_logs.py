"""Stage logs in the team ledger: uploaded (compressed) when a stage ends, so the release
manager reads the build and test log of the digest in front of them on another machine.

Live streaming stays local (the log file under ``DOCKYARD_HOME``); the local ledger needs
none of this, since its logs are already on this machine.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from dockyard.store.sql import Database

COMPRESSION_LEVEL = 6


def share_log(db: Database, path: Path, run_id: str, stage: str) -> None:
    """Upload the finished log at ``path`` (a no-op for the local ledger)."""
    if db.dialect != "postgres":
        return
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    with db.transaction() as connection:
        connection.execute(
            "INSERT INTO stage_logs (run_id, stage, compressed, lines) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (run_id, stage) DO UPDATE SET compressed = excluded.compressed,"
            " lines = excluded.lines",
            (run_id, stage, zlib.compress(data, COMPRESSION_LEVEL), data.count(b"\n")),
        )


def fetch_log(db: Database, path: Path, run_id: str, stage: str) -> bool:
    """Make sure the log is at ``path``: there already, or downloaded from the team ledger.
    False when there is no such log anywhere."""
    if path.exists():
        return True
    if db.dialect != "postgres":
        return False
    row = (
        db.connect()
        .execute(
            "SELECT compressed FROM stage_logs WHERE run_id = ? AND stage = ?", (run_id, stage)
        )
        .fetchone()
    )
    if row is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(zlib.decompress(bytes(row[0])))
    os.replace(partial, path)
    return True


def shared_stages(db: Database, run_id: str) -> list[str]:
    """The stages of ``run_id`` whose logs the team ledger holds ([] for the local one)."""
    if db.dialect != "postgres":
        return []
    rows = db.connect().execute(
        "SELECT stage FROM stage_logs WHERE run_id = ? ORDER BY stage", (run_id,)
    )
    return [str(row[0]) for row in rows]
