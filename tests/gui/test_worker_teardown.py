"""A runner (or the view owning it) torn down while its tasks are still running or still
queued never crashes the window and never calls back into what is gone."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time

import pytest
import shiboken6
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from dockyard.ui.worker import TaskRunner

pytestmark = pytest.mark.gui

ROUNDS = 200


def _slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_runners_torn_down_in_any_order_with_their_tasks_never_crash(qtbot: QtBot) -> None:
    heard_after_teardown: list[object] = []
    for round_ in range(ROUNDS):
        owner = QObject() if round_ % 3 == 0 else None
        runner = TaskRunner(on_error=lambda message, _details: heard(message), parent=owner)
        gone = [False]
        runner.destroyed.connect(lambda _object=None, gone=gone: gone.__setitem__(0, True))

        def heard(value: object, gone: list[bool] = gone) -> None:
            if gone[0]:
                heard_after_teardown.append(value)

        for task in range(4):
            runner.submit(_slow, 0.0005 * ((round_ + task) % 4), on_result=heard)
        qtbot.wait(round_ % 3)  # some tasks answered, some running, some queued
        if owner is not None:
            owner.deleteLater()  # a view and its runner go away together
            del owner
        elif round_ % 3 == 1:
            runner.deleteLater()
        else:
            shiboken6.delete(runner)
        del runner
        if round_ % 10 == 0:
            gc.collect()
        qtbot.wait(round_ % 2)
    assert heard_after_teardown == []


# A script (a benchmark, a tool) that ends without the event loop's quit: the application
# is destroyed while a task still runs, and nobody shut the runner down.
_ENDS_WHILE_A_TASK_RUNS = """
import time
from PySide6.QtWidgets import QApplication
from dockyard.ui.worker import TaskRunner
app = QApplication([])
TaskRunner().submit(time.sleep, 0.3, on_result=lambda _slept: None)
"""


def test_an_application_ending_while_a_task_runs_prints_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _ENDS_WHILE_A_TASK_RUNS],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "Traceback" not in done.stderr, done.stderr
