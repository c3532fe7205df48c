"""Switching ledgers (Settings connected this home to a team ledger, or left it) lets the
reads under way through the old one finish: it is closed once they have ended, in a worker
(closing may wait on the disk or the team server), not at once on the UI thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from tests.gui.helpers import open_window

pytestmark = pytest.mark.gui


def test_a_read_under_way_when_the_ledger_switches_ends_normally(
    qtbot: QtBot, dockyard_home: Path, tmp_path: Path
) -> None:
    window = open_window(qtbot)
    reading, release = threading.Event(), threading.Event()
    answered: list[object] = []

    def slow_read() -> int:
        connection = window.db.connect()  # as a store's read does, for its statements
        reading.set()
        release.wait(30)
        return int(connection.execute("SELECT count(*) FROM repositories").fetchone()[0])

    window.tasks.submit(
        slow_read,
        on_result=answered.append,
        on_error=lambda message, _details: answered.append(message),
    )
    assert reading.wait(30)

    window.ledger_switched()  # what Settings does after a team connect or disconnect
    release.set()

    qtbot.waitUntil(lambda: answered != [], timeout=30_000)
    assert answered == [0]  # how many repositories there are, not an error
    assert window.tasks.wait(20_000)
