"""Finding widgets the way a user (or a screen reader) names them, the steps a user takes
in the window that several tests share (open it, make the sample, run a ref, open
Environments, approve), an engine's answer to show (``waiting_production``), and cleaning
up."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import docker
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from dockyard.core.model import RunStatus
from dockyard.core.releases import ApprovalRequest, ApprovalStatus, Pin
from dockyard.engine.release.results import EnvironmentStatus, RepoStatus
from dockyard.store.database import open_database
from dockyard.store.repositories import Repository, RepositoryStore
from dockyard.ui.environments import EnvironmentsState, EnvironmentsView
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.releasedialogs import DecisionDialog

W = TypeVar("W", bound=QWidget)
NOW = datetime(2026, 11, 26, 6, 54, 38, tzinfo=UTC)


def named(root: QWidget, kind: type[W], name: str) -> W:
    """The one visible-or-not child of ``kind`` whose accessible name is ``name``."""
    found = [w for w in root.findChildren(kind) if w.accessibleName() == name]
    assert len(found) == 1, f"one {kind.__name__} named {name!r} expected, found {len(found)}"
    return found[0]


def save_screenshot(widget: QWidget, name: str) -> None:
    """With ``DOCKYARD_SCREENSHOTS`` set (a folder, e.g. docs/screenshots): save what the
    user sees there as ``name``; the docs show states that only a test reaches cheaply."""
    folder = os.environ.get("DOCKYARD_SCREENSHOTS")
    if folder:
        widget.grab().save(str(Path(folder) / name))


def remove_deployed(client: docker.DockerClient, location: str) -> None:
    """Remove what a run of ``location`` deployed (containers and services by label)."""
    label = f"dockyard.repo={location}"
    try:
        for service in client.services.list(filters={"label": label}):
            service.remove()
    except docker.errors.APIError:
        pass  # not a swarm manager: there are no services
    # Swarm removes the services' tasks meanwhile: those are gone, not an error.
    for container in client.containers.list(
        all=True, filters={"label": label}, ignore_removed=True
    ):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    # Dockyard's own networks, once nothing uses them (service tasks stop asynchronously).
    deadline = time.monotonic() + 30
    while networks := _leftover_networks(client):
        for network in networks:
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)


def _leftover_networks(client: docker.DockerClient) -> list[docker.models.networks.Network]:
    return client.networks.list(filters={"label": "dockyard.managed=true"})


def open_window(qtbot: QtBot) -> MainWindow:
    """A shown main window, once it has read its repositories."""
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main.repositories.loaded, timeout=30_000)
    return main


def sample_repository(qtbot: QtBot, main: MainWindow) -> Repository:
    """The sample repository, created from the window and shown in it."""
    main.repositories.create_sample()
    qtbot.waitUntil(lambda: main.current_repository() is not None, timeout=20_000)
    repository = main.current_repository()
    assert repository is not None
    return repository


def shown_window(qtbot: QtBot) -> Iterator[MainWindow]:
    """A shown main window; afterwards waits for its runs and tasks to end."""
    main = open_window(qtbot)
    yield main
    qtbot.waitUntil(lambda: not main.runs.busy(), timeout=120_000)
    main.tasks.wait(30_000)


def window_listing(qtbot: QtBot, home: Path, location: str) -> Iterator[MainWindow]:
    """A shown main window with ``location`` added to its repositories and selected; like
    ``shown_window`` afterwards."""
    db = open_database(home)
    RepositoryStore(db).add(location)
    db.close()
    windows = shown_window(qtbot)
    main = next(windows)
    qtbot.waitUntil(lambda: main.current_repository() is not None, timeout=20_000)
    yield main
    next(windows, None)


def team_window(qtbot: QtBot, home: Path) -> MainWindow:
    """The window of ``home`` (connected to a team ledger), shown, once the server answered."""
    window = MainWindow(home=home)
    qtbot.addWidget(window)
    window.show()
    ledger = named(window, QLabel, "Ledger")
    qtbot.waitUntil(lambda: ": reachable" in ledger.text(), timeout=20_000)
    return window


def close_window(window: MainWindow) -> None:
    """Close ``window`` and wait until its ledger's connections are closed (closing does
    that in a worker, once the window's tasks have ended)."""
    window.tasks.wait(30_000)
    window.close()
    window.runs.tasks.wait(30_000)
    window.tasks.wait(30_000)


def run_ref(qtbot: QtBot, main: MainWindow, ref: str) -> None:
    count = main.runs_view.model.rowCount()
    main.run_action.trigger()
    dialog = main.run_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.loaded, timeout=20_000)
    dialog.select_ref(ref)
    named(dialog, QPushButton, "Run").click()
    model = main.runs_view.model
    qtbot.waitUntil(lambda: model.rowCount() == count + 1, timeout=20_000)
    qtbot.waitUntil(lambda: model.runs[0].status.finished, timeout=300_000)
    assert model.runs[0].status == RunStatus.AWAITING_APPROVAL, model.runs[0].error


def show_environments(qtbot: QtBot, main: MainWindow) -> EnvironmentsView:
    view = main.environments_view
    main.tabs.setCurrentWidget(view)
    main.refresh_action.trigger()
    qtbot.waitUntil(lambda: not view.loading and view.state is not None, timeout=60_000)
    return view


def decide(qtbot: QtBot, view: EnvironmentsView, approve: bool, comment: str) -> DecisionDialog:
    dialog = open_decision(view, approve)
    named(dialog, QLineEdit, "Decision comment").setText(comment)
    named(dialog, QPushButton, "Approve" if approve else "Reject").click()
    return dialog


def open_decision(view: EnvironmentsView, approve: bool) -> DecisionDialog:
    named(view, QPushButton, f"{'Approve' if approve else 'Reject'} production").click()
    dialog = view.dialog
    assert isinstance(dialog, DecisionDialog)
    return dialog


def waiting_production() -> EnvironmentsState:
    """What the engine says of /srv/shop: production waits for approval, pinned, drifted."""
    request = ApprovalRequest(
        id=1, repo="/srv/shop", environment="production", run_id="r1",
        digest="sha256:" + "ab" * 32, image="shop@sha256:" + "ab" * 32, commit="3f2a1b9" * 5,
        tag="v1.1.0", config_fingerprint="f", config={}, requested_by="dev@example.test",
        created=NOW, expires=None, status=ApprovalStatus.PENDING,
    )  # fmt: skip
    pin = Pin("/srv/shop", "production", "ops@example.test", "rolled back", NOW)
    env = EnvironmentStatus("production", None, None, request, pin, drift="runs nginx:latest")
    return EnvironmentsState(RepoStatus("/srv/shop", [env]), {})
