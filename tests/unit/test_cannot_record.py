"""Which failures a watched change waits out ("it will run when the ledger is back") and
which it reports for what they are: ``store.failures.cannot_record``."""

from __future__ import annotations

import errno
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from dockyard.core.errors import InfrastructureError, LedgerUnreachable
from dockyard.engine.pipeline import runprocess
from dockyard.store.diskspace import disk_full_error
from dockyard.store.failures import cannot_record


def _locked_write(path: Path) -> sqlite3.OperationalError:
    """What SQLite raises while another program holds the write lock."""
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN IMMEDIATE")
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with closing(other), pytest.raises(sqlite3.OperationalError) as raised:
            other.execute("BEGIN IMMEDIATE")
        holder.execute("ROLLBACK")
    return raised.value


def test_a_ledger_that_cannot_record_now_is_waited_out(tmp_path: Path) -> None:
    locked = _locked_write(tmp_path / "dockyard.db")
    assert cannot_record(locked)
    try:  # as the database's own wrapper says it
        raise InfrastructureError("Cannot open the database (database is locked).") from locked
    except InfrastructureError as wrapped:
        assert cannot_record(wrapped)
    assert cannot_record(LedgerUnreachable("The team ledger at db:5432 is unreachable."))
    try:
        raise disk_full_error(tmp_path) from OSError(errno.ENOSPC, "No space left on device")
    except InfrastructureError as full:
        assert cannot_record(full)


def test_a_pipeline_process_that_cannot_start_is_not_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runprocess, "child_command", lambda: [str(tmp_path / "gone")])
    with pytest.raises(InfrastructureError, match="Could not start a process") as raised:
        runprocess.PipelineProcess(home=tmp_path, location="/r", ref="v1", started_by="ann")
    assert not cannot_record(raised.value)
    assert not cannot_record(sqlite3.DatabaseError("file is not a database"))
    assert not cannot_record(OSError(errno.ENOENT, "No such file or directory"))
