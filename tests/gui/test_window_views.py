"""History, settings and a big runs table, driven through the widgets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QPushButton, QTableView
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, open_window

from dockyard.core.model import Run, RunStatus
from dockyard.core.releases import ApprovalRequest, ApprovalStatus
from dockyard.engine.release.results import EnvironmentStatus, RepoStatus
from dockyard.store.audit import AuditLog
from dockyard.store.database import open_database
from dockyard.store.repositories import Repository, RepositoryStore
from dockyard.store.runs import RunStore
from dockyard.ui import environments, preferences
from dockyard.ui.environments import EnvironmentsState, EnvironmentsView
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.runsmodel import PAGE_SIZE
from dockyard.ui.worker import TaskRunner
from testbed.dockerd import PrivateDaemon
from testbed.endpoints import saved_endpoints

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot: QtBot, dockyard_home: Path) -> Iterator[MainWindow]:
    main = open_window(qtbot)
    yield main
    main.tasks.wait(20_000)


def test_history_shows_the_audit_trail_and_a_verified_chain(
    qtbot: QtBot, dockyard_home: Path
) -> None:
    db = open_database(dockyard_home)
    audit = AuditLog(db)
    audit.append("approve", actor="rm@example.test", repo="/srv/shop", environment="production")
    audit.append("rollback", actor="ops@example.test", repo="/srv/shop", environment="staging")
    audit.append("hosts.add", actor="ops@example.test", details={"name": "prod"})
    db.close()
    main = open_window(qtbot)
    main.tabs.setCurrentWidget(main.history_view)
    chain = named(main, QLabel, "Chain state")
    qtbot.waitUntil(lambda: "verified" in chain.text(), timeout=30_000)
    assert "Chain verified" in chain.text() and "(3 entries)" in chain.text()
    table = named(main, QTableView, "Audit trail")
    assert table.model().rowCount() == 3
    assert table.model().index(0, 3).data() == "hosts.add"  # newest first

    named(main, QLineEdit, "History filter").setText("rollback")
    assert table.model().rowCount() == 1
    assert table.model().index(0, 2).data() == "ops@example.test"
    main.tasks.wait(10_000)


def test_history_says_when_the_chain_is_broken(qtbot: QtBot, dockyard_home: Path) -> None:
    db = open_database(dockyard_home)
    audit = AuditLog(db)
    audit.append("approve", actor="rm@example.test", repo="/srv/shop", environment="production")
    audit.append("reject", actor="rm@example.test", repo="/srv/shop", environment="production")
    with db.transaction() as connection:  # what someone with the file could do
        connection.execute("DROP TRIGGER audit_no_update")
        connection.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 1")
    db.close()
    main = open_window(qtbot)
    main.tabs.setCurrentWidget(main.history_view)
    chain = named(main, QLabel, "Chain state")
    qtbot.waitUntil(lambda: "Chain broken" in chain.text(), timeout=30_000)
    assert "audit entry 1 was modified" in chain.text()
    main.tasks.wait(10_000)


def test_settings_add_test_and_remove_an_endpoint(
    qtbot: QtBot, window: MainWindow, docker_daemon: PrivateDaemon
) -> None:
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.isVisible()
    endpoints = named(dialog, QListWidget, "Endpoints")
    qtbot.waitUntil(lambda: endpoints.count() == 1, timeout=30_000)

    named(dialog, QLineEdit, "Endpoint name").setText("second")
    named(dialog, QLineEdit, "Endpoint URL").setText(docker_daemon.url)
    named(dialog, QPushButton, "Add endpoint").click()
    result = named(dialog, QLabel, "Endpoint test result")
    qtbot.waitUntil(lambda: "second: connected" in result.text(), timeout=20_000)
    assert "Docker" in result.text()
    assert endpoints.count() == 2
    assert "second" in saved_endpoints(window.home)

    named(dialog, QLineEdit, "Endpoint name").setText("nowhere")
    named(dialog, QLineEdit, "Endpoint URL").setText("unix:///nonexistent/docker.sock")
    named(dialog, QPushButton, "Add endpoint").click()
    qtbot.waitUntil(lambda: "nowhere: unreachable" in result.text(), timeout=20_000)

    named(dialog, QLineEdit, "Endpoint name").setText("open")
    named(dialog, QLineEdit, "Endpoint URL").setText("tcp://example.invalid:2375")
    named(dialog, QPushButton, "Add endpoint").click()
    qtbot.waitUntil(lambda: "Refusing plain tcp://" in result.text(), timeout=30_000)
    assert endpoints.count() == 3

    for name in ("second", "nowhere"):
        dialog.select_endpoint(name)
        named(dialog, QPushButton, "Remove endpoint").click()
        qtbot.waitUntil(lambda n=name: f"Removed {n}." in result.text(), timeout=30_000)
    assert endpoints.count() == 1
    dialog.select_endpoint("local")
    assert not named(dialog, QPushButton, "Remove endpoint").isEnabled()
    dialog.reject()


def test_identity_from_settings_applies_without_restart(qtbot: QtBot, window: MainWindow) -> None:
    assert window.identity == "dev@example.test"  # DOCKYARD_USER of the fixture
    window.show_settings()
    dialog = window.settings_dialog
    assert dialog is not None
    identity = named(dialog, QLineEdit, "Identity")
    identity.setText("release.manager@example.test")
    identity.editingFinished.emit()
    assert window.identity == "release.manager@example.test"
    assert preferences.configured_identity() == "release.manager@example.test"
    dialog.reject()


def test_window_state_is_restored(qtbot: QtBot, dockyard_home: Path) -> None:
    first = open_window(qtbot)
    first.resize(780, 560)
    qtbot.waitUntil(lambda: first.height() == 560)
    size = first.size()
    first.close()
    first.tasks.wait(10_000)
    second = open_window(qtbot)
    assert second.size() == size, (size, first.size())
    second.tasks.wait(10_000)


def test_runs_table_fetches_100000_runs_a_page_at_a_time(
    qtbot: QtBot, dockyard_home: Path, tmp_path: Path
) -> None:
    db = open_database(dockyard_home)
    repository = RepositoryStore(db).add(str(tmp_path / "big"))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        (
            f"{(start + timedelta(seconds=n)):%Y%m%dT%H%M%S}-{n:06x}",
            repository.location,
            "main",
            f"{n:040x}",
            "succeeded",
            (start + timedelta(seconds=n)).isoformat(),
            (start + timedelta(seconds=n + 42)).isoformat(),
            "Dev <dev@example.test>",
            f"change {n}",
        )
        for n in range(100_000)
    ]
    with db.transaction() as connection:
        connection.executemany(
            "INSERT INTO runs (id, repo, ref, commit_sha, status, created, finished, author, "
            "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.close()

    main = open_window(qtbot)
    model = main.runs_view.model
    qtbot.waitUntil(lambda: model.rowCount() == PAGE_SIZE, timeout=30_000)
    assert model.index(0, 2).data() == "Dev"
    assert "change 99999" in str(model.index(0, 1).data())
    assert model.index(0, 5).data() == "42s"
    table = named(main, QTableView, "Runs")
    # Scrolling to the end asks for the next page, read in a worker.
    for pages in range(2, 6):
        table.scrollToBottom()
        qtbot.waitUntil(lambda p=pages: model.rowCount() == p * PAGE_SIZE, timeout=30_000)
    began = time.perf_counter()
    table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() == 6 * PAGE_SIZE, timeout=30_000)
    assert time.perf_counter() - began < 2.0
    assert "change 98800" in str(model.index(6 * PAGE_SIZE - 1, 1).data())
    main.tasks.wait(10_000)


def test_a_refresh_updates_only_the_runs_that_changed(
    qtbot: QtBot, dockyard_home: Path, tmp_path: Path
) -> None:
    # The window re-reads the newest runs after every commit it notices (a run streaming
    # commits every stage): rows that are as they were are left alone, not repainted.
    db = open_database(dockyard_home)
    location = RepositoryStore(db).add(str(tmp_path / "app")).location
    runs = RunStore(db)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    made = [
        Run(f"2025010100000{n}-00000{n}", location, "main", f"{n:040x}", RunStatus.SUCCEEDED,
            start + timedelta(minutes=n), author="Dev <dev@example.test>")
        for n in range(5)
    ]  # fmt: skip
    for run in made:
        runs.create(run)
    running = made[2]
    running.status = RunStatus.RUNNING
    runs.save(running)
    main = open_window(qtbot)
    model = main.runs_view.model
    qtbot.waitUntil(lambda: model.rowCount() == 5, timeout=30_000)
    changed: list[int] = []
    inserted: list[tuple[int, int]] = []
    model.dataChanged.connect(
        lambda first, last, _roles: changed.extend(range(first.row(), last.row() + 1))
    )
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))

    # Elsewhere (a terminal) the running run finishes and a new one starts.
    running.status = RunStatus.FAILED
    running.finished = start + timedelta(hours=1)
    runs.save(running)
    runs.create(
        Run(
            "20250101010000-000009",
            location,
            "v2",
            "f" * 40,
            RunStatus.RUNNING,
            start + timedelta(hours=1),
        )
    )
    db.close()
    main.refresh()

    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=30_000)
    assert inserted == [(0, 0)]
    assert model.index(0, 0).data() == "v2"
    assert changed == [2]  # the finished run's row (row 2 then; row 3 now), and no other
    assert model.run_at(3).status == RunStatus.FAILED
    main.tasks.wait(10_000)


def test_a_refresh_that_reads_the_same_environments_keeps_their_cards(
    qtbot: QtBot, dockyard_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The window re-reads the Environments tab after every commit it notices, every few
    # seconds while a run streams: a card the user is about to click must stay as it is.
    request = ApprovalRequest(
        id=1, repo="/srv/shop", environment="production", run_id="r1",
        digest="sha256:" + "ab" * 32, image="shop@sha256:" + "ab" * 32, commit="3f2a1b9" * 5,
        tag="v1.1.0", config_fingerprint="f", config={}, requested_by="dev@example.test",
        created=datetime(2026, 1, 1, tzinfo=UTC), expires=None, status=ApprovalStatus.PENDING,
    )  # fmt: skip
    env = EnvironmentStatus("production", None, None, request, None, None)
    monkeypatch.setattr(
        environments,
        "read_environments",
        lambda _made, location: EnvironmentsState(RepoStatus(location, [env]), {}),
    )
    db = open_database(dockyard_home)
    view = EnvironmentsView(TaskRunner(), db, dockyard_home, lambda: "rm@example.test")
    qtbot.addWidget(view)
    view.show()
    view.set_repository(Repository(1, "shop", "/srv/shop", False, datetime(2026, 1, 1, tzinfo=UTC)))
    view.refresh()
    qtbot.waitUntil(lambda: view.state is not None, timeout=30_000)
    approve = named(view, QPushButton, "Approve production")
    approve.setFocus()

    for _ in range(2):
        view.refresh()
        qtbot.waitUntil(lambda: not view.loading, timeout=30_000)

    assert named(view, QPushButton, "Approve production") is approve
    assert approve.hasFocus()
    view.tasks.wait(10_000)
    db.close()
