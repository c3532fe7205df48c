"""The main window opens offscreen and reports the local Docker endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dockyard.ui.mainwindow import MainWindow
from testbed.dockerd import PrivateDaemon

pytestmark = pytest.mark.gui


def test_window_opens_and_shows_the_local_endpoint_connected(
    qtbot: QtBot, docker_daemon: PrivateDaemon, dockyard_home: Path
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.windowTitle().startswith("Dockyard")
    qtbot.waitUntil(lambda: "local" in window.endpoint_status.labels, timeout=30_000)
    label = window.endpoint_status.labels["local"]
    assert "connected" in label.text()
    assert "Docker" in label.toolTip()
    window.tasks.wait(5000)


def test_window_says_plainly_when_no_daemon_answers(
    qtbot: QtBot, dockyard_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "local" in window.endpoint_status.labels, timeout=30_000)
    label = window.endpoint_status.labels["local"]
    assert "unreachable" in label.text()
    assert "start Docker" in label.toolTip()
    window.tasks.wait(5000)
