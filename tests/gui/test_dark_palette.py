"""The window follows a dark palette: panels that carry meaning turn dark with readable
text, and a light/dark switch while the window is open repaints them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QFrame, QLabel
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, waiting_production

from dockyard.store.database import open_database
from dockyard.ui.environments import EnvironmentsView
from dockyard.ui.history import AuditState, HistoryView
from dockyard.ui.messages import error
from dockyard.ui.theme import DARK, LIGHT, dark_palette
from dockyard.ui.worker import TaskRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def dark_app(qapp: QApplication) -> Iterator[QApplication]:
    light = qapp.palette()
    qapp.setPalette(dark_palette())
    yield qapp
    qapp.setPalette(light)


def shown_environments(qtbot: QtBot, dockyard_home: Path) -> EnvironmentsView:
    db = open_database(dockyard_home)
    tasks = TaskRunner(on_error=error)
    view = EnvironmentsView(tasks, db, dockyard_home, lambda: "rm@example.test")
    qtbot.addWidget(view)
    view.resize(500, 600)
    view.show()
    view.show_state(waiting_production())
    return view


def background(frame: QFrame) -> QColor:
    """The colour actually painted just inside the frame's border."""
    image: QImage = frame.grab().toImage()
    return image.pixelColor(QPoint(6, image.height() // 2))


def test_approval_panel_drift_and_pin_are_dark_with_light_text_in_a_dark_palette(
    qtbot: QtBot, dockyard_home: Path, dark_app: QApplication
) -> None:
    view = shown_environments(qtbot, dockyard_home)
    pending = named(view, QLabel, "Pending production")
    panel = pending.parentWidget()
    assert isinstance(panel, QFrame)
    qtbot.waitExposed(view)
    assert background(panel).lightness() < 80
    assert pending.palette().color(pending.foregroundRole()).lightness() > 180
    assert DARK.pending_bg in panel.styleSheet()
    drift = named(view, QLabel, "Drift production")
    assert background(drift).lightness() < 80
    pin = named(view, QLabel, "Pin production").parentWidget()
    assert isinstance(pin, QFrame) and background(pin).lightness() < 80


def approval_panel(view: EnvironmentsView) -> QFrame:
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # cards replaced
    panel = named(view, QLabel, "Pending production").parentWidget()
    assert isinstance(panel, QFrame)
    return panel


def test_switching_to_dark_while_open_repaints_the_approval_panel(
    qtbot: QtBot, dockyard_home: Path, qapp: QApplication
) -> None:
    light = qapp.palette()
    view = shown_environments(qtbot, dockyard_home)
    qtbot.waitExposed(view)
    assert background(approval_panel(view)).lightness() > 200
    try:
        qapp.setPalette(dark_palette())
        qtbot.waitUntil(lambda: DARK.pending_bg in approval_panel(view).styleSheet())
        assert background(approval_panel(view)).lightness() < 80
    finally:
        qapp.setPalette(light)
    qtbot.waitUntil(lambda: LIGHT.pending_bg in approval_panel(view).styleSheet())


def test_history_chain_state_uses_the_dark_variant(
    qtbot: QtBot, dockyard_home: Path, dark_app: QApplication
) -> None:
    db = open_database(dockyard_home)
    view = HistoryView(TaskRunner(on_error=error), db)
    qtbot.addWidget(view)
    view._loaded(AuditState([], [], 0))
    assert DARK.ok in view.chain_label.text() and LIGHT.ok not in view.chain_label.text()
