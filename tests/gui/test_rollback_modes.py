"""The Rollback dialog says, before anything is confirmed, that a release which ran as a
container cannot be put back now that production is a Swarm stack (the engine's refusal),
and its Roll back button stays off."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, window_listing

from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.releasedialogs import RollbackDialog
from integration.deploy_images import CACHE, push_image
from integration.mode_change import moved_to_stack
from testbed.cli import Cli
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.gui, pytest.mark.docker, pytest.mark.usefixtures("swarm_gateway_bridge")]


def test_the_rollback_dialog_refuses_a_release_from_another_mode(
    qtbot: QtBot,
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    cache = push_image(docker_client, registry.host, "cache", CACHE)
    cli = Cli(dockyard_home, swarm_daemon)
    image = f"{registry.host}/modes/window"
    with moved_to_stack(tmp_path, docker_client, cli, image, cache) as app:
        windows = window_listing(qtbot, dockyard_home, app.repo)
        main: MainWindow = next(windows)
        try:
            main.tabs.setCurrentWidget(main.environments_view)
            view = main.environments_view
            main.refresh_action.trigger()
            qtbot.waitUntil(
                lambda: "v1.1.0" in named(view, QLabel, "Release production").text(),
                timeout=60_000,
            )
            named(view, QPushButton, "Rollback production").click()
            dialog = view.dialog
            assert isinstance(dialog, RollbackDialog)
            qtbot.waitUntil(lambda: dialog.loaded, timeout=20_000)
            chosen = dialog.chosen()
            assert chosen is not None and chosen.tag == "v1.0.0"  # preselected
            error = named(dialog, QLabel, "Rollback error")
            assert error.isVisible()
            assert error.text().startswith(
                "v1.0.0 ran in production in container mode and production is in stack mode "
                "now; a rollback puts a release back as it ran"
            )
            named(dialog, QLineEdit, "Rollback comment").setText("v1.1.0 is slow")
            named(dialog, QCheckBox, "Confirm rollback").setChecked(True)
            assert not named(dialog, QPushButton, "Roll back").isEnabled()
            dialog.reject()
        finally:
            next(windows, None)
