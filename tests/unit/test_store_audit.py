"""The hash-chained audit log: appends, verification, tamper detection."""

from __future__ import annotations

import getpass
import logging
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store.audit import GENESIS_HASH, AuditLog, entry_hash
from dockyard.store.columns import time_to_text
from dockyard.store.database import Database, open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path)
    yield database
    database.close()


@pytest.fixture
def audit(db: Database) -> AuditLog:
    log = AuditLog(db)
    for number in range(1, 11):
        log.append(
            "deploy" if number % 2 else "approve",
            actor="ann@example.com",
            repo="web" if number <= 5 else "api",
            environment="production",
            details={"digest": f"sha256:{number:064x}", "comment": "looks good ✓"},
        )
    return log


def drop_triggers(db: Database) -> None:
    with db.transaction() as connection:
        connection.execute("DROP TRIGGER audit_no_update")
        connection.execute("DROP TRIGGER audit_no_delete")


def test_append_records_who_where_and_links_the_chain(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    log = AuditLog(db)
    with caplog.at_level(logging.INFO, logger="dockyard.audit"):
        first = log.append("rollback", actor="bob", repo="web", environment="prod",
                           details={"to": "v1.4.2", "reason": "500s"})  # fmt: skip
    second = log.append("unpin", actor="bob", repo="web", environment="prod")
    assert first.seq == 1 and first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert (first.os_user, first.host) == (getpass.getuser(), socket.gethostname())
    assert first.details == {"to": "v1.4.2", "reason": "500s"}
    assert first.at.tzinfo is not None
    assert log.entries() == [first, second]
    assert "rollback by bob" in caplog.text
    assert log.verify() == []


def test_entries_filter_by_repo_and_action_and_limit(audit: AuditLog) -> None:
    assert [entry.seq for entry in audit.entries(repo="web")] == [1, 2, 3, 4, 5]
    assert [entry.seq for entry in audit.entries(action="approve")] == [2, 4, 6, 8, 10]
    assert [entry.seq for entry in audit.entries(repo="api", action="deploy")] == [7, 9]
    assert [entry.seq for entry in audit.entries(limit=3)] == [8, 9, 10]


def test_update_and_delete_are_refused(db: Database, audit: AuditLog) -> None:
    connection = db.connect()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("DELETE FROM audit WHERE seq = 3")
    assert len(audit.entries()) == 10
    assert audit.verify() == []


def test_modified_details_are_reported(db: Database, audit: AuditLog) -> None:
    drop_triggers(db)
    with db.transaction() as connection:
        connection.execute('UPDATE audit SET details = \'{"comment":"ok"}\' WHERE seq = 4')
    assert audit.verify() == ["audit entry 4 was modified"]


def test_modified_entry_with_a_recomputed_hash_is_still_caught(
    db: Database, audit: AuditLog
) -> None:
    drop_triggers(db)
    original = audit.entries()[3]
    forged = entry_hash(
        seq=4,
        at=time_to_text(original.at),
        actor="mallory",
        os_user=original.os_user,
        host=original.host,
        action=original.action,
        repo=original.repo,
        environment=original.environment,
        details=original.details,
        prev_hash=original.prev_hash,
    )
    with db.transaction() as connection:
        connection.execute("UPDATE audit SET actor = 'mallory', hash = ? WHERE seq = 4", (forged,))
    assert audit.verify() == ["audit entry 4 was modified (entry 5 no longer links to it)"]


def test_deleted_middle_entries_are_reported_missing(db: Database, audit: AuditLog) -> None:
    drop_triggers(db)
    with db.transaction() as connection:
        connection.execute("DELETE FROM audit WHERE seq = 7")
        connection.execute("DELETE FROM audit WHERE seq IN (3, 4)")
    assert audit.verify() == [
        "audit entries 3 to 4 are missing (the chain jumps from 2 to 5)",
        "audit entry 7 is missing (the chain jumps from 6 to 8)",
    ]


def test_deleted_last_entries_are_reported_missing(db: Database, audit: AuditLog) -> None:
    drop_triggers(db)
    with db.transaction() as connection:
        connection.execute("DELETE FROM audit WHERE seq >= 9")
    assert audit.verify() == ["audit entries 9 to 10 are missing (the chain ends at 8)"]
    # New entries continue after the gap, so the loss stays visible.
    assert audit.append("deploy", actor="ann").seq == 11


def test_the_chain_survives_reopening(tmp_path: Path) -> None:
    first = open_database(tmp_path)
    AuditLog(first).append("approve", actor="ann", details={"n": 1.5, "list": [1, "two"]})
    first.close()
    second = open_database(tmp_path)
    try:
        log = AuditLog(second)
        log.append("deploy", actor="bob")
        assert log.verify() == []
        assert log.entries()[0].details == {"n": 1.5, "list": [1, "two"]}
    finally:
        second.close()


def test_a_known_secret_is_masked_before_it_is_chained(db: Database, audit: AuditLog) -> None:
    from dockyard.core.redaction import remember_secret

    remember_secret("chain-secret-77")
    entry = audit.append(
        "deploy", actor="dev", details={"error": "exited: token=chain-secret-77", "n": 1}
    )
    assert entry.details == {"error": "exited: token=•••", "n": 1}
    assert audit.verify() == []
    db.close()
    assert b"chain-secret-77" not in db.path.read_bytes()
