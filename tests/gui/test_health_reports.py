"""The window shows what the engine says about health: a staging release that keeps
exiting after its gate is a restart loop on its card, and approving a production release
that exits says its exit code and last output in the dialog, without a traceback."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from tests.gui.helpers import decide, named, save_screenshot, show_environments, shown_window

from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from integration.restart_loops import CRASH_LATER, restart_loop
from testbed.cli import LEAD, Cli
from testbed.dockerd import PrivateDaemon

pytestmark = [pytest.mark.gui, pytest.mark.docker]

PIPELINE = """\
environments:
  staging:
    mode: container
    auto: true
    grace: 1s
  production:
    mode: container
    approval: {required: 1}
    grace: 1s
    environment: {CRASH: now}
"""
APP = 'if [ "$CRASH" = now ]; then echo "fatal: no database"; exit 3; fi\n' + CRASH_LATER


def test_the_window_shows_a_restart_loop_and_the_exit_of_a_failed_approval(
    qtbot: QtBot,
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    cli = Cli(dockyard_home, docker_daemon)
    waiting = {"staging": "deployed", "production": "awaiting_approval"}
    with restart_loop(
        cli, docker_client, tmp_path / "flaky", PIPELINE, APP, waiting, ("staging",)
    ) as (repo, _):
        db = open_database(dockyard_home)
        RepositoryStore(db).add(repo)
        db.close()
        windows = shown_window(qtbot)
        main = next(windows)
        try:
            qtbot.waitUntil(lambda: main.current_repository() is not None, timeout=20_000)
            view = show_environments(qtbot, main)
            health = named(view, QLabel, "Health staging").text()
            assert health.startswith("Health: in a restart loop (restarted ")
            assert "last exit code 4" in health
            assert "restart loop" in named(view, QLabel, "Drift staging").text()
            save_screenshot(main, "restart-loop.png")

            main._identity_changed(LEAD)
            dialog = decide(qtbot, view, True, "ship it")
            error = named(dialog, QLabel, "Decision error")
            qtbot.waitUntil(
                lambda: error.isVisible() and "did not become healthy" in error.text(),
                timeout=120_000,
            )
            assert "it exited with code 3; its last output: fatal: no database" in error.text()
            assert "Traceback" not in error.text()
            dialog.reject()
        finally:
            next(windows, None)
