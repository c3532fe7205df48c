"""The approval card shows where the release goes (the engine's target), says when a later
commit moved production since, and after the refused approval shows the new target."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, open_decision, window_listing

from dockyard.ui.environments import EnvironmentsView
from dockyard.ui.mainwindow import MainWindow
from integration.moving_target import release, two_endpoint_app
from testbed.cli import LEAD
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.gui, pytest.mark.docker]


def pending_text(view: EnvironmentsView) -> str:
    return named(view, QLabel, "Pending production").text()


def refreshed(qtbot: QtBot, main: MainWindow, shows: str) -> EnvironmentsView:
    view = main.environments_view
    main.refresh_action.trigger()
    qtbot.waitUntil(lambda: view.state is not None and shows in pending_text(view), timeout=60_000)
    return view


def test_the_approval_card_shows_the_target_and_when_it_moved(
    qtbot: QtBot,
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    with two_endpoint_app(
        tmp_path, dockyard_home, docker_daemon, docker_client, registry, "window"
    ) as app:
        release(app, "v1.0.0", "local")
        windows = window_listing(qtbot, dockyard_home, app.repo)
        main: MainWindow = next(windows)
        try:
            main.tabs.setCurrentWidget(main.environments_view)
            view = refreshed(qtbot, main, "goes to local (container)")

            app.move_production("prod-b")
            view = refreshed(qtbot, main, "target changed since the request")
            assert "host local → prod-b" in pending_text(view)
            assert "goes to local (container)" in pending_text(view)

            main._identity_changed(LEAD)
            dialog = open_decision(view, True)
            assert (
                "goes to <b>local (container)</b>" in named(dialog, QLabel, "Decision intro").text()
            )
            named(dialog, QPushButton, "Approve").click()
            error = named(dialog, QLabel, "Decision error")
            qtbot.waitUntil(error.isVisible, timeout=30_000)
            sentence = "production's target changed since this release was shown for approval"
            assert sentence in error.text() and "(host local → prod-b)" in error.text()
            # The card behind the dialog was read again: the new request, the new target.
            qtbot.waitUntil(
                lambda: "goes to prod-b (container)" in pending_text(view), timeout=30_000
            )
            assert "target changed" not in pending_text(view)
            assert sentence in named(view, QLabel, "Environments message").text()
            assert named(view, QLabel, "Release production").text() == "Nothing deployed yet."
            dialog.reject()
        finally:
            next(windows, None)
