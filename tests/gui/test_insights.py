"""Insights in the window on a history made through the real pipeline (runs, approvals,
a rollback): the tiles' texts, switching environment and period, hovering and clicking a
timeline mark, exporting PNG and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from tests.gui.helpers import remove_deployed, shown_window

from dockyard.core.locations import normalise_location
from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.ui.insights import InsightsView
from dockyard.ui.mainwindow import MainWindow
from testbed.cli import LEAD, Cli
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.gui, pytest.mark.docker]

PIPELINE = """\
image: {image}
environments:
  staging: {{mode: container, auto: true}}
  production: {{mode: container, after: staging, approval: {{required: 1}}}}
"""


@pytest.fixture
def history(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> Iterator[str]:
    """v1.0.0 and v1.1.0 (two commits) released to staging and production, then
    production rolled back; the repository registered for the window."""
    image = f"{registry.host}/insights/web"
    git_repo = make_app_repo(tmp_path / "web", dockyard_yml=PIPELINE.format(image=image))
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, docker_daemon)
    try:
        for tag in ("v1.0.0", "v1.1.0"):
            if tag == "v1.1.0":
                git_repo.commit("feature: search", {"search.txt": "1"})
                git_repo.commit("feature: filters", {"filters.txt": "1"})
                git_repo.tag(tag)
            cli.json("run", repo, "--ref", tag)
            approved = cli("approve", repo, "production", user=LEAD)
            assert approved.returncode == 0, approved.stderr
        rolled = cli("rollback", repo, "production", "--comment", "search is slow")
        assert rolled.returncode == 0, rolled.stderr
        db = open_database(dockyard_home)
        RepositoryStore(db).add(repo, "web")
        db.close()
        yield repo
    finally:
        remove_deployed(docker_client, repo)
        for leftover in docker_client.images.list(name=image):
            docker_client.images.remove(leftover.id, force=True)


@pytest.fixture
def window(qtbot: QtBot, history: str) -> Iterator[MainWindow]:
    yield from shown_window(qtbot)


def open_insights(qtbot: QtBot, main: MainWindow, repo: str) -> InsightsView:
    main.repositories.refresh(select=repo)
    qtbot.waitUntil(lambda: main.current_repository() is not None, timeout=30_000)
    view = main.insights_view
    main.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.state is not None and not view.loading, timeout=30_000)
    return view


def hover(widget: QWidget, point: QPointF) -> None:
    """The pointer moves over ``point`` (QTest.mouseMove moves no pointer offscreen)."""
    move = QMouseEvent(
        QEvent.Type.MouseMove, point, widget.mapToGlobal(point),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(widget, move)


def wait_for(qtbot: QtBot, view: InsightsView, environment: str, days: float) -> None:
    qtbot.waitUntil(
        lambda: (
            view.state is not None
            and not view.loading
            and view.state.environment == environment
            and round(view.state.period.days) == days
        ),
        timeout=30_000,
    )


def test_insights_show_the_recorded_history(
    qtbot: QtBot,
    window: MainWindow,
    history: str,
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
) -> None:
    view = open_insights(qtbot, window, history)
    tiles = view.tiles
    # The command line gives the same numbers as the window.
    cli = Cli(dockyard_home, docker_daemon).json("metrics", history)
    shown = view.state
    assert shown is not None
    assert cli["deployments"] == shown.current.deployments == 2
    assert cli["change_failure_rate"] == shown.current.change_failure_rate.value == 0.5
    assert cli["lead_time_seconds"]["median"] == pytest.approx(
        shown.current.lead_time.value, abs=1e-3
    )
    assert cli["approval_wait_seconds"]["p90"] == pytest.approx(
        shown.current.approval_wait.p90, abs=1e-3
    )
    assert view.environment.currentText() == "production"
    assert tiles["deployment_frequency"].value.text() == "0.5 / week"  # 2 in 30 days
    assert "2 deployments, 1 rollback apart" in tiles["deployment_frequency"].basis.text()
    assert tiles["change_failure_rate"].value.text() == "50%"  # v1.1.0 was rolled back
    assert "2 commits" in tiles["lead_time"].basis.text()
    assert tiles["lead_time"].value.text() != "not enough data"
    assert tiles["time_to_restore"].value.text() == "not enough data"  # one incident
    assert "1 incident" in tiles["time_to_restore"].basis.text()
    assert "2 approvals" in tiles["approval_wait"].basis.text()
    timeline = view.timeline
    assert timeline.lanes == ("staging", "production")
    kinds = sorted((m.environment, m.label, m.kind) for m in timeline.marks)
    assert kinds == [
        ("production", "v1.0.0", "release"), ("production", "v1.0.0", "rollback"),
        ("production", "v1.1.0", "release"),
        ("staging", "v1.0.0", "release"), ("staging", "v1.1.0", "release"),
    ]  # fmt: skip

    # Hover production: minutes apart, its three marks overlap; the rollback is on top.
    release = next(
        m for m in timeline.marks if m.label == "v1.1.0" and m.environment == "production"
    )
    hover(timeline, timeline.point_of(release))
    top = timeline.hovered
    assert top is not None and top.kind == "rollback" and top.label == "v1.0.0"
    tip = timeline.toolTip()
    assert "v1.1.0 in production — release" in tip and release.digest in tip
    assert f"approved by {LEAD}" in tip and "v1.0.0 in production — rollback" in tip

    # Staging, last 7 days: two releases, nothing rolled back, no approvals.
    view.environment.setCurrentText("staging")
    view.environment.activated.emit(view.environment.currentIndex())
    view.period.setCurrentIndex(0)
    view.period.activated.emit(0)
    wait_for(qtbot, view, "staging", 7)
    assert tiles["deployment_frequency"].value.text() == "2.0 / week"
    assert tiles["change_failure_rate"].value.text() == "0%"
    assert tiles["approval_wait"].value.text() == "not enough data"

    view.export_csv(str(tmp_path / "insights.csv"))
    view.export_png(str(tmp_path / "insights.png"))
    qtbot.waitUntil(lambda: "insights.png" in view.message.text(), timeout=30_000)
    qtbot.waitUntil(lambda: (tmp_path / "insights.csv").exists(), timeout=30_000)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "insights.csv").read_text())))
    frequency = next(
        r for r in rows if r["bucket"] == "period" and r["metric"] == "deployment_frequency"
    )
    assert frequency["environment"] == "staging" and frequency["events"] == "2"
    image = QImage(str(tmp_path / "insights.png"))
    assert not image.isNull() and image.width() >= view.canvas.width()

    # Clicking opens the run of the mark on top: the rollback redeployed v1.0.0's run.
    QTest.mouseClick(
        timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
        timeline.point_of(release).toPoint(),
    )  # fmt: skip
    assert window.tabs.currentWidget() is window.runs_view
    qtbot.waitUntil(
        lambda: (run := window.runs_view.selected_run()) is not None and run.id == top.run_id,
        timeout=30_000,
    )
    selected = window.runs_view.selected_run()
    assert selected is not None and selected.ref == "v1.0.0"


@pytest.fixture
def many_runs(tmp_path: Path, dockyard_home: Path, docker_daemon: PrivateDaemon) -> str:
    """250 recorded releases (back-dated, tests/testbed/history.py) of a registered repo."""
    from dockyard.core.model import utcnow
    from testbed.history import make_history_repo, record_history

    releases = make_history_repo(tmp_path / "api", utcnow(), 250, 80)
    db = open_database(dockyard_home)
    location = RepositoryStore(db).add(str(tmp_path / "api"), "api").location
    record_history(db, location, releases)
    db.close()
    return location


@pytest.fixture
def busy_window(qtbot: QtBot, many_runs: str) -> Iterator[MainWindow]:
    yield from shown_window(qtbot)


def test_a_mark_opens_a_run_older_than_the_loaded_page(
    qtbot: QtBot, busy_window: MainWindow, many_runs: str
) -> None:
    """The Runs table loads the newest 200 runs; a click on an old mark reads on."""
    view = open_insights(qtbot, busy_window, many_runs)
    view.period.setCurrentIndex(2)
    view.period.activated.emit(2)
    wait_for(qtbot, view, "production", 90)
    timeline = view.timeline
    point = timeline.point_of(min(timeline.marks, key=lambda mark: mark.at))
    clicked = timeline.mark_at(point)  # marks of close releases overlap: the one on top
    assert clicked is not None and clicked.run_id is not None
    QTest.mouseClick(
        timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point.toPoint()
    )
    runs = busy_window.runs_view
    qtbot.waitUntil(
        lambda: (run := runs.selected_run()) is not None and run.id == clicked.run_id,
        timeout=20_000,
    )
    assert runs.model.rowCount() > 200
