"""Render the real main window, per main view, into docs/screenshots/*.png.

Starts a private dockerd through tests/testbed (as the tests do), creates the sample
repository from the welcome page, runs v1.0.0 through the window, approves production as
a second person, runs v1.1.0 (which then waits for approval), and grabs each view;
Insights on a back-dated history of a second repository (tests/testbed/history.py); then
approves v1.1.0 and grabs the Rollback dialog going back to v1.0.0.
Run by ``make screenshots``:

PYTHONPATH=desktop:tests python scripts/screenshots.py [--dark]

With ``--dark`` the window paints with the Fusion style and a dark palette (what a dark
desktop gives it) and writes ``<view>-dark.png``: runs, environments and insights into
docs/screenshots, the others into a temporary folder, to be looked at, not published.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "desktop"), str(ROOT / "tests"), str(ROOT)]

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

if TYPE_CHECKING:
    from dockyard.ui.environments import EnvironmentsView
    from dockyard.ui.mainwindow import MainWindow

OUT = ROOT / "docs" / "screenshots"
PUBLISHED_DARK = ("runs", "environments", "insights")
DARK = False


def wait_until(condition: Callable[[], bool], timeout_ms: int = 300_000) -> None:
    clock = QElapsedTimer()
    clock.start()
    loop = QEventLoop()
    while not condition():
        if clock.elapsed() > timeout_ms:
            raise TimeoutError("the window did not get there in time")
        QTimer.singleShot(50, loop.quit)
        loop.exec()


def settle(ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def grab(widget: QWidget, name: str) -> None:
    settle()
    folder = OUT
    if DARK and name not in PUBLISHED_DARK:
        folder = Path(tempfile.gettempdir()) / "dockyard-screenshots"
        folder.mkdir(exist_ok=True)
    path = folder / (f"{name}-dark.png" if DARK else f"{name}.png")
    widget.grab().save(str(path))
    print(f"wrote {path}")


def main() -> int:
    global DARK
    parser = argparse.ArgumentParser(description="Render the window's main views to PNGs.")
    parser.add_argument("--dark", action="store_true", help="paint with a dark palette")
    DARK = parser.parse_args().dark
    from testbed.baseimage import ensure_busybox
    from testbed.dockerd import start_daemon

    daemon = start_daemon()
    work = Path(tempfile.mkdtemp(prefix="dy-shots-"))
    os.environ.update(
        DOCKER_HOST=daemon.url,
        DOCKYARD_HOME=str(work / "home"),
        DOCKYARD_USER="dev@example.test",
    )
    client = daemon.client()
    ensure_busybox(client)
    try:
        return _shoot()
    finally:
        from tests.gui.helpers import remove_deployed

        for container in client.containers.list(all=True, filters={"label": "dockyard.repo"}):
            remove_deployed(client, container.labels["dockyard.repo"])
        for service in client.services.list(filters={"label": "dockyard.repo"}):
            service.remove()
        client.close()
        daemon.stop()


def _production_release(view: EnvironmentsView) -> str:
    env = view.environment("production")
    release = env.release if env is not None else None
    return (release.tag or "") if release is not None else ""


def _shoot() -> int:
    from dockyard.ui.mainwindow import MainWindow
    from dockyard.ui.releasedialogs import RollbackDialog

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setApplicationName("Dockyard")
    if DARK:
        from dockyard.ui.theme import dark_palette

        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    OUT.mkdir(parents=True, exist_ok=True)
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    wait_until(lambda: window.repositories.loaded)
    grab(window, "welcome")

    window.repositories.create_sample()
    wait_until(lambda: window.current_repository() is not None)
    repo = window.current_repository()
    assert repo is not None
    window.start_run(repo.location, "v1.0.0")
    model = window.runs_view.model
    wait_until(lambda: model.rowCount() == 1 and model.runs[0].status.finished)
    from dockyard.engine.release.service import ReleaseService

    approver = ReleaseService(home=window.home, db=window.db, identity="rm@example.test")
    approver.approve(repo.location, "production", "release meeting: go")
    window.refresh()
    window.start_run(repo.location, "v1.1.0")
    wait_until(lambda: model.rowCount() == 2 and model.runs[0].status.finished)
    window.runs_view.table.selectRow(1)
    settle(1000)
    grab(window, "runs")

    window.tabs.setCurrentWidget(window.environments_view)
    wait_until(lambda: window.environments_view.state is not None)
    grab(window, "environments")

    window.tabs.setCurrentWidget(window.overview_view)
    wait_until(lambda: window.overview_view.state is not None and not window.overview_view.loading)
    grab(window, "overview")

    window.tabs.setCurrentWidget(window.history_view)
    wait_until(lambda: "Chain" in window.history_view.chain_label.text())
    grab(window, "history")

    _insights(window)

    window.show_settings()
    dialog = window.settings_dialog
    assert dialog is not None
    wait_until(lambda: dialog.endpoint_list.count() > 0)
    dialog.select_endpoint("local")
    dialog.test_selected()
    wait_until(lambda: "connected" in dialog.result_label.text())
    wait_until(lambda: dialog.registry_logins.loaded)
    grab(dialog, "settings")
    dialog.reject()

    # Production runs v1.1.0 too; the Rollback dialog then offers to go back to v1.0.0.
    approver.approve(repo.location, "production", "release meeting: go")
    window.repositories.refresh(select=repo.location)  # Insights selected another one
    wait_until(
        lambda: (r := window.current_repository()) is not None and r.location == repo.location
    )
    environments = window.environments_view
    window.tabs.setCurrentWidget(environments)
    environments.refresh()
    wait_until(lambda: "v1.1.0" in _production_release(environments))
    environments.rollback("production")
    rollback = environments.dialog
    assert isinstance(rollback, RollbackDialog)
    wait_until(lambda: "takes away" in rollback.changes.toPlainText())
    rollback.comment.setText("v1.1.0 breaks checkout")
    grab(rollback, "rollback")
    rollback.reject()
    window.tasks.wait(30_000)
    window.close()
    return 0


def _insights(window: MainWindow) -> None:
    """Insights need weeks of history: a back-dated one (tests/testbed/history.py)."""
    from dockyard.core.model import utcnow
    from dockyard.store.repositories import RepositoryStore
    from testbed.history import make_history_repo, record_history

    folder = Path(tempfile.mkdtemp(prefix="dy-history-")) / "shop-api"
    releases = make_history_repo(folder, utcnow(), 40, 88)
    location = RepositoryStore(window.db).add(str(folder), "shop-api").location
    record_history(window.db, location, releases)
    window.repositories.refresh(select=location)
    wait_until(lambda: (r := window.current_repository()) is not None and r.location == location)
    view = window.insights_view
    window.tabs.setCurrentWidget(view)
    wait_until(lambda: view.state is not None and not view.loading)
    view.period.setCurrentIndex(2)  # 90 days: rollbacks and failures on the timeline
    view.period.activated.emit(2)
    wait_until(lambda: view.state is not None and round(view.state.period.days) == 90)
    grab(window, "insights")


if __name__ == "__main__":
    sys.exit(main())
