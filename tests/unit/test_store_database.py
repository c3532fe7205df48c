"""The database file: migrations, durable settings, transactions, threads."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.core.errors import InfrastructureError
from dockyard.core.model import Run
from dockyard.store.audit import AuditLog
from dockyard.store.database import Database, SqliteDatabase, open_database
from dockyard.store.migrations import MIGRATIONS
from dockyard.store.runs import RunStore, new_run_id


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "home")
    yield database
    database.close()


def test_fresh_file_is_created_and_migrated(db: Database, tmp_path: Path) -> None:
    assert db.path == tmp_path / "home" / "dockyard.db"
    assert db.path.exists()
    assert db.schema_version == len(MIGRATIONS)
    tables = {
        row[0]
        for row in db.connect().execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert {"runs", "stages", "images", "audit", "deployments", "pins"} <= tables


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    first = open_database(tmp_path)
    RunStore(first).create(Run(id="20260101T000000-aaaaaa", repo="web", ref="main"))
    first.close()
    second = open_database(tmp_path)
    try:
        assert second.schema_version == len(MIGRATIONS)
        assert RunStore(second).count("web") == 1
    finally:
        second.close()


def test_durability_settings_are_in_effect(db: Database) -> None:
    connection = db.connect()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_each_thread_gets_its_own_connection_with_the_same_settings(db: Database) -> None:
    seen: list[tuple[sqlite3.Connection, int]] = []

    def work() -> None:
        connection = db.connect()
        seen.append((connection, connection.execute("PRAGMA synchronous").fetchone()[0]))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen[0][0] is not db.connect()
    assert seen[0][1] == 2


def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as connection:
        connection.execute(
            "INSERT INTO pins (repo, environment, pinned_by, since)"
            " VALUES ('web', 'prod', 'a', 'x')"
        )
        raise RuntimeError("boom")
    assert db.connect().execute("SELECT count(*) FROM pins").fetchone()[0] == 0


def test_a_failed_nested_transaction_only_undoes_its_own_part(db: Database) -> None:
    insert = "INSERT INTO pins (repo, environment, pinned_by, since) VALUES ('web', ?, 'a', 'x')"
    with db.transaction() as connection:
        connection.execute(insert, ("staging",))
        with pytest.raises(RuntimeError), db.transaction() as inner:
            inner.execute(insert, ("production",))
            raise RuntimeError("boom")
    rows = db.connect().execute("SELECT environment FROM pins").fetchall()
    assert [row[0] for row in rows] == ["staging"]


def test_a_database_from_a_newer_dockyard_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dockyard.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    connection.close()
    with pytest.raises(InfrastructureError, match="newer Dockyard"):
        SqliteDatabase(path)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "dockyard.db"
    path.write_bytes(b"this is not sqlite at all, just some text that fills a header page" * 20)
    with pytest.raises(
        InfrastructureError, match=r"dockyard\.db is damaged \(file is not a database"
    ):
        SqliteDatabase(path)


def test_four_threads_writing_at_once_all_succeed(db: Database) -> None:
    runs, audit = RunStore(db), AuditLog(db)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for index in range(50):
                run = Run(id=new_run_id(), repo=f"repo{number}", ref="main")
                runs.create(run)
                run.commit = f"{index:040x}"
                runs.save(run)
                audit.append("run.started", actor=f"user{number}", repo=run.repo)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            db.release()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [runs.count(f"repo{n}") for n in range(4)] == [50, 50, 50, 50]
    assert [entry.seq for entry in audit.entries()] == list(range(1, 201))
    assert audit.verify() == []
