"""The welcome state on the right, and the Overview matrix with Promote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QTableView, QTabWidget
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, open_window, remove_deployed, run_ref, sample_repository

from dockyard.engine.release.service import ReleaseService
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.overview import OverviewView
from testbed.dockerd import PrivateDaemon

pytestmark = pytest.mark.gui


def test_first_start_explains_dockyard_instead_of_an_empty_runs_table(
    qtbot: QtBot, dockyard_home: Path
) -> None:
    window = open_window(qtbot)
    try:
        welcome = named(window, QLabel, "Welcome")
        assert welcome.isVisible()
        assert "builds, tests, delivers and deploys" in welcome.text()
        add = named(window, QPushButton, "Add repository (welcome)")
        sample = named(window, QPushButton, "Create sample repository")
        assert add.isVisible() and sample.isVisible()
        assert not named(window, QTableView, "Runs").isVisible()
        assert not named(window, QTabWidget, "Views").isVisible()
        assert named(window, QLabel, "Repositories hint").isVisible()

        sample.click()
        qtbot.waitUntil(lambda: window.current_repository() is not None, timeout=20_000)
        assert not welcome.isVisible()
        assert named(window, QTableView, "Runs").isVisible()
        assert not named(window, QLabel, "Repositories hint").isVisible()
        assert "hello-dockyard" in named(window, QLabel, "Repository title").text()
    finally:
        window.tasks.wait(20_000)


@pytest.fixture
def swarm_window(
    qtbot: QtBot, swarm_daemon: PrivateDaemon, swarm_gateway_bridge: None, dockyard_home: Path
) -> Iterator[MainWindow]:
    main = open_window(qtbot)
    yield main
    qtbot.waitUntil(lambda: not main.runs.active(), timeout=120_000)
    main.tasks.wait(30_000)


def show_overview(qtbot: QtBot, main: MainWindow) -> OverviewView:
    view = main.overview_view
    main.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: not view.loading and view.state is not None, timeout=60_000)
    return view


@pytest.mark.swarm
def test_promote_sends_stagings_digest_to_production_for_approval(
    qtbot: QtBot, swarm_window: MainWindow, docker_client: docker.DockerClient
) -> None:
    window = swarm_window
    repository = sample_repository(qtbot, window)
    try:
        run_ref(qtbot, window, "v1.0.0")
        # The run's own request is turned down, so production waits for nothing.
        service = ReleaseService(home=window.home, db=window.db, identity="rm@example.test")
        service.reject(repository.location, "production", "not before the release meeting")
        staging_digest = service.ledger.current_deployment(repository.location, "staging")
        assert staging_digest is not None

        view = show_overview(qtbot, window)
        assert named(view, QLabel, "Column staging").text() == "<b>staging</b>"
        staging = named(view, QLabel, "Release hello-dockyard staging")
        assert "v1.0.0" in staging.text() and "deployed" in staging.text()
        production = named(view, QLabel, "Release hello-dockyard production")
        assert "nothing deployed" in production.text()
        assert "Awaiting approval" not in production.text()
        # Production comes last: nothing to promote it to.
        assert not [
            b for b in view.findChildren(QPushButton)
            if b.accessibleName() == "Promote hello-dockyard production"
        ]  # fmt: skip

        promote = named(view, QPushButton, "Promote hello-dockyard staging")
        assert promote.text() == "Promote to production…"
        promote.click()
        confirm = view.confirm
        assert isinstance(confirm, QMessageBox) and confirm.isVisible()
        assert "to production" in confirm.text()
        assert staging_digest.digest in confirm.informativeText()
        named(confirm, QPushButton, "Confirm promote").click()

        message = named(view, QLabel, "Overview message")
        qtbot.waitUntil(
            lambda: "waits for approval in production" in message.text(), timeout=60_000
        )
        qtbot.waitUntil(
            lambda: (
                "Awaiting approval: v1.0.0"
                in named(view, QLabel, "Release hello-dockyard production").text()
            ),
            timeout=60_000,
        )

        # Review… opens the repository's Environments tab with the approval panel.
        named(view, QPushButton, "Review hello-dockyard production").click()
        environments = window.environments_view
        assert window.tabs.currentWidget() is environments
        qtbot.waitUntil(
            lambda: environments.state is not None and not environments.loading, timeout=60_000
        )

        def pending_shown() -> bool:
            # New cards are shown on the next pass of the event loop, not when added.
            pending = named(environments, QLabel, "Pending production")
            return pending.isVisible() and "Awaiting approval: v1.0.0" in pending.text()

        qtbot.waitUntil(pending_shown, timeout=30_000)
        pending = named(environments, QLabel, "Pending production")
        assert staging_digest.digest[:19] in pending.text()
        assert named(environments, QPushButton, "Approve production").isVisible()
    finally:
        window.tasks.wait(60_000)
        remove_deployed(docker_client, repository.location)
