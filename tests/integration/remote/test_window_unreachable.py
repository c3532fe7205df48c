"""A blackholed endpoint is reported unreachable while the window stays responsive."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from dockyard.engine.endpoints.registry import EndpointRegistry
from dockyard.ui.mainwindow import MainWindow

from .pki import RemotePKI

pytestmark = [pytest.mark.docker, pytest.mark.gui]


def test_unreachable_endpoint_is_shown_and_the_window_keeps_painting(
    qtbot: QtBot, blackholed_address: str, pki: RemotePKI, dockyard_home: Path
) -> None:
    EndpointRegistry(dockyard_home).add(pki.endpoint("far", f"tcp://{blackholed_address}:2376"))
    gaps: list[float] = []
    last = [time.monotonic()]

    def beat() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    window = MainWindow(home=dockyard_home)
    qtbot.addWidget(window)
    window.show()
    started = time.monotonic()
    qtbot.waitUntil(lambda: "far" in window.endpoint_status.labels, timeout=20_000)
    elapsed = time.monotonic() - started
    heartbeat.stop()
    label = window.endpoint_status.labels["far"]
    assert "unreachable" in label.text()
    assert "did not answer within 10 s" in label.toolTip()
    assert elapsed < 15
    # The check ran in a worker: the UI thread kept beating. On the UI thread the 10 s
    # blackhole would be one 10 s gap; a loaded machine may add a second of scheduling noise.
    assert max(gaps) < 2.0, f"the UI thread stalled for {max(gaps):.3f} s"
    window.tasks.wait(15_000)
