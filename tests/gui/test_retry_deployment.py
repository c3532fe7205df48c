"""The environment card offers "Retry deployment" when the engine says the failed approved
deployment may run again; clicking it deploys in a worker and the card shows the result."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, window_listing

from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger
from dockyard.ui.environments import EnvironmentsView
from dockyard.ui.mainwindow import MainWindow
from integration.failed_approval import failed_approval
from testbed.dockerd import PrivateDaemon

pytestmark = [pytest.mark.gui, pytest.mark.docker]


def retry_buttons(view: EnvironmentsView) -> list[QPushButton]:
    return [b for b in view.findChildren(QPushButton) if b.accessibleName() == "Retry production"]


def test_retry_deployment_button_redeploys_the_failed_approved_release(
    qtbot: QtBot,
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    with failed_approval(tmp_path, dockyard_home, swarm_daemon, docker_client) as failed:
        windows = window_listing(qtbot, dockyard_home, failed.repo)
        main: MainWindow = next(windows)
        try:
            view = main.environments_view
            main.tabs.setCurrentWidget(view)
            main.refresh_action.trigger()
            qtbot.waitUntil(lambda: bool(retry_buttons(view)), timeout=60_000)
            failed_text = named(view, QLabel, "Failed production").text()
            assert "v1.0.0 failed" in failed_text and "did not become healthy" in failed_text
            assert named(view, QLabel, "Release production").text() == "Nothing deployed yet."

            failed.registry_up()
            # Another deployment to production is in progress: the retry waits, and says so.
            ledger = SqliteReleaseLedger(open_database(dockyard_home))
            held, _ = ledger.try_lock_environment(
                failed.repo, "production", what="v0.9.9", taken_by="ops@example.test"
            )
            assert held is not None
            retry_buttons(view)[0].click()
            message = named(view, QLabel, "Environments message")
            qtbot.waitUntil(
                lambda: "Waiting for the deployment of v0.9.9 to production" in message.text(),
                timeout=30_000,
            )
            assert "/ops@example.test" in message.text()
            ledger.unlock_environment(held)
            qtbot.waitUntil(
                lambda: "v1.0.0" in named(view, QLabel, "Release production").text(),
                timeout=120_000,
            )
            assert not retry_buttons(view)
            assert "production runs v1.0.0" in message.text()
        finally:
            next(windows, None)
