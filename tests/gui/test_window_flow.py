"""A newcomer's first minutes in the window: sample repository, a run, its log, a cancel."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QTableView, QTreeWidget
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, remove_deployed, shown_window

from dockyard.core.model import RunStatus
from dockyard.ui.logview import LogView
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.runsmodel import STAGES
from testbed.cli import remove_images
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import GitRepo

pytestmark = pytest.mark.gui

SLOW_TEST = """\
services:
  sut:
    image: ${DOCKYARD_IMAGE}
    command: ["sh", "-c", "echo waiting; sleep 120"]
"""


@pytest.fixture
def window(qtbot: QtBot, docker_daemon: PrivateDaemon, dockyard_home: Path) -> Iterator[MainWindow]:
    yield from shown_window(qtbot)


def run_dialog_ref(qtbot: QtBot, main: MainWindow, ref: str) -> None:
    named(main, QPushButton, "Run pipeline").click()
    dialog = main.run_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.loaded, timeout=20_000)
    dialog.select_ref(ref)
    assert dialog.chosen_ref() == ref
    named(dialog, QPushButton, "Run").click()


def add_repository(qtbot: QtBot, main: MainWindow, path: Path) -> None:
    main.show_add_repository()
    dialog = main.add_dialog
    assert dialog is not None
    dialog.location.setText(str(path))
    named(dialog, QPushButton, "Add").click()
    qtbot.waitUntil(lambda: main.repositories.model.rowCount() == 1, timeout=20_000)
    assert not dialog.isVisible()


def test_sample_repository_runs_from_the_window(
    qtbot: QtBot, window: MainWindow, docker_client: docker.DockerClient
) -> None:
    welcome = named(window, QLabel, "Welcome")
    assert welcome.isVisible() and "Welcome to Dockyard" in welcome.text()

    named(window, QPushButton, "Create sample repository").click()
    qtbot.waitUntil(lambda: window.repositories.model.rowCount() == 1, timeout=20_000)
    repository = window.current_repository()
    assert repository is not None and repository.name == "hello-dockyard"
    assert named(window, QLabel, "Repository title").text().count("hello-dockyard") >= 1

    try:
        run_dialog_ref(qtbot, window, "v1.0.0")
        table = named(window, QTableView, "Runs")
        qtbot.waitUntil(lambda: table.model().rowCount() == 1, timeout=20_000)
        model = window.runs_view.model
        log_lines = named(window, LogView, "Stage log")

        # While it runs, the log view follows the running stage and fills.
        qtbot.waitUntil(lambda: log_lines.model.rowCount() > 0, timeout=120_000)
        qtbot.waitUntil(lambda: model.runs[0].status.finished, timeout=300_000)
        run = model.runs[0]
        chips = str(model.index(0, STAGES).data())
        assert run.status in (RunStatus.SUCCEEDED, RunStatus.AWAITING_APPROVAL), run.error
        for stage in ("checkout", "build", "test"):
            assert f"{stage}: succeeded" in chips
        assert model.index(0, 0).data() == "v1.0.0"
        assert "Sample web app" in str(model.index(0, 1).data())

        stages = named(window, QTreeWidget, "Stages")
        states = {
            stages.topLevelItem(n).text(0): stages.topLevelItem(n).text(1)  # type: ignore[union-attr]
            for n in range(stages.topLevelItemCount())
        }
        assert states["build"] == "succeeded" and states["test"] == "succeeded"
        # The log of the test stage shows the compose test's verdict.
        test_item = stages.findItems("test", Qt.MatchFlag.MatchExactly)[0]
        stages.setCurrentItem(test_item)
        qtbot.waitUntil(
            lambda: any(
                "tests passed" in line
                for line in log_lines.model.reader.lines(0, log_lines.model.rowCount())  # type: ignore[union-attr]
            ),
            timeout=30_000,
        )
        # The repository row shows the latest status.
        assert window.repositories.model.index(0).data() == "hello-dockyard"
        assert window.repositories.model.rows[0].latest_status == str(run.status)
    finally:
        window.runs.cancel_all()
        # The run shows as finished before its child has deployed it to the automatic
        # staging (the sample's): removing what it deployed while that deployment goes on
        # left the child waiting for a service that was gone, past the window fixture's
        # wait. Clean up once the child is done (as the window does before it closes);
        # under load that deployment alone takes minutes.
        qtbot.waitUntil(lambda: not window.runs.busy(), timeout=600_000)
        remove_deployed(docker_client, repository.location)


def test_a_slow_run_can_be_cancelled_and_closing_asks_first(
    qtbot: QtBot,
    window: MainWindow,
    git_repo_factory: object,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo: GitRepo = git_repo_factory(compose_test=SLOW_TEST)  # type: ignore[operator]
    add_repository(qtbot, window, repo.path)

    run_dialog_ref(qtbot, window, "main")
    model = window.runs_view.model
    qtbot.waitUntil(
        lambda: model.rowCount() == 1 and model.runs[0].stage("test").status == "running",
        timeout=180_000,
    )
    cancel = named(window, QPushButton, "Cancel run")
    assert cancel.isEnabled()
    cancel.click()
    qtbot.waitUntil(lambda: model.runs[0].status == RunStatus.CANCELLED, timeout=60_000)
    assert "test: cancelled" in str(model.index(0, STAGES).data())
    assert not cancel.isEnabled()

    # A second run, then closing the window: it asks, and cancels the run before quitting.
    run_dialog_ref(qtbot, window, "main")
    qtbot.waitUntil(lambda: bool(window.runs.active()), timeout=30_000)
    asked: list[int] = []
    monkeypatch.setattr(window, "ask_about_active_runs", lambda count: asked.append(count) or True)
    window.close()
    assert asked == [1]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=120_000)
    assert model.runs[0].status == RunStatus.CANCELLED


def test_a_run_started_in_a_terminal_shows_up_live(
    qtbot: QtBot,
    window: MainWindow,
    git_repo_factory: object,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
) -> None:
    ten_seconds = SLOW_TEST.replace("sleep 120", "sleep 10")
    repo: GitRepo = git_repo_factory(compose_test=ten_seconds)  # type: ignore[operator]
    add_repository(qtbot, window, repo.path)
    model = window.runs_view.model
    assert model.rowCount() == 0

    # Someone types `dockyard run` in a terminal: nobody touches the window.
    terminal = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "run", str(repo.path)],
        env={**os.environ, "DOCKYARD_HOME": str(dockyard_home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        qtbot.waitUntil(
            lambda: model.rowCount() == 1 and model.runs[0].stage("test").status == "running",
            timeout=60_000,
        )
        assert terminal.poll() is None, "the run should still be going when it shows up"
        assert terminal.wait(timeout=300) == 0
        qtbot.waitUntil(lambda: model.runs[0].status == RunStatus.SUCCEEDED, timeout=30_000)
        assert "test: succeeded" in str(model.index(0, STAGES).data())
        # The repository list's status icon follows too.
        qtbot.waitUntil(
            lambda: window.repositories.model.rows[0].latest_status == RunStatus.SUCCEEDED,
            timeout=30_000,
        )
    finally:
        if terminal.poll() is None:
            terminal.kill()
            terminal.wait()
        remove_images(docker_client, f"dockyard/{repo.path.name}:")


def test_adding_a_folder_that_is_not_a_repository_says_so(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    plain = tmp_path / "just-a-folder"
    plain.mkdir()
    window.add_repository_action.trigger()
    dialog = window.add_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.location.setText(str(plain))
    named(dialog, QPushButton, "Add").click()
    error = named(dialog, QLabel, "Add repository error")
    qtbot.waitUntil(error.isVisible, timeout=30_000)
    assert "is not a git repository" in error.text()
    assert dialog.isVisible()
    assert window.repositories.model.rowCount() == 0
    dialog.reject()
