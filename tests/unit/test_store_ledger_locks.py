"""Deployment locks in the ledger: one holder per environment across processes; a lock of
a dead process is free; the second caller learns who holds it."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.core.errors import UserInputError
from dockyard.engine.events import CancelToken
from dockyard.engine.release.deploy_lock import environment_locked
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteReleaseLedger]:
    db = open_database(tmp_path)
    yield SqliteReleaseLedger(db)
    db.close()


def test_a_second_deployment_to_the_environment_is_told_who_holds_it(
    ledger: SqliteReleaseLedger,
) -> None:
    first, busy = ledger.try_lock_environment("web", "production", what="v2.0.0", taken_by="ann")
    assert first is not None and busy is None
    second, holder = ledger.try_lock_environment("web", "production", what="v1.0.0", taken_by="bo")
    assert second is None and holder is not None
    assert (holder.what, holder.taken_by, holder.token) == ("v2.0.0", "ann", first.token)
    other, _ = ledger.try_lock_environment("web", "staging", what="v2.0.0", taken_by="bo")
    assert other is not None  # another environment is not held up
    ledger.unlock_environment(first)
    assert ledger.environment_lock("web", "production") is None
    again, _ = ledger.try_lock_environment("web", "production", what="v1.0.0", taken_by="bo")
    assert again is not None


def test_a_lock_left_by_a_killed_process_is_free(
    ledger: SqliteReleaseLedger, tmp_path: Path
) -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    connection = sqlite3.connect(tmp_path / "dockyard.db")
    with connection:
        connection.execute(
            "INSERT INTO deployment_locks VALUES ('web', 'production', 'x', 'v2.0.0', 'ann',"
            " '2026-01-01T00:00:00+00:00', ?, ?, 'boot:1')",
            (socket.gethostname(), child.pid),
        )
    connection.close()
    assert ledger.environment_lock("web", "production") is None
    lock, holder = ledger.try_lock_environment("web", "production", what="v1", taken_by="bo")
    assert lock is not None and holder is None


def test_no_wait_refuses_in_one_sentence_and_waiting_tells_once(
    ledger: SqliteReleaseLedger,
) -> None:
    held, _ = ledger.try_lock_environment("web", "production", what="v2.0.0", taken_by="ann")
    assert held is not None
    with pytest.raises(UserInputError) as refused, environment_locked(
        ledger, "web", "production", what="v1", identity="bo", wait=False,
        on_wait=print, cancel=CancelToken(),
    ):  # fmt: skip
        pass
    assert "busy with the deployment of v2.0.0" in refused.value.message
    assert "--no-wait" in refused.value.message
    told: list[str] = []

    def release_after_first_notice(message: str) -> None:
        told.append(message)
        ledger.unlock_environment(held)

    with environment_locked(
        ledger, "web", "production", what="v1", identity="bo", wait=True,
        on_wait=release_after_first_notice, cancel=CancelToken(),
    ) as mine:  # fmt: skip
        assert ledger.environment_lock("web", "production") == mine
    assert len(told) == 1 and told[0].startswith("Waiting for the deployment of v2.0.0")
    assert ledger.environment_lock("web", "production") is None
