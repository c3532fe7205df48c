"""A release manager's day in the window: approve (self-approval refused), roll back, unpin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
)
from pytestqt.qtbot import QtBot
from tests.gui.helpers import (
    decide,
    named,
    open_decision,
    remove_deployed,
    run_ref,
    sample_repository,
    show_environments,
    shown_window,
)

from dockyard.core.model import RunStatus
from dockyard.engine.release.service import ReleaseService
from dockyard.store.database import open_database
from dockyard.store.runs import RunStore
from dockyard.ui.environments import EnvironmentsView
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.releasedialogs import RollbackDialog
from testbed.dockerd import PrivateDaemon

pytestmark = [pytest.mark.gui, pytest.mark.swarm]


@pytest.fixture
def window(qtbot: QtBot, swarm_daemon: PrivateDaemon, dockyard_home: Path) -> Iterator[MainWindow]:
    yield from shown_window(qtbot)


def check_approval_is_bound_to_what_was_shown(
    qtbot: QtBot, view: EnvironmentsView, home: Path, location: str
) -> None:
    """While the dialog shows v1.1.0, a promote replaces the request with v1.0.0: the
    window approves only the digest it showed, so it is refused (and nothing deployed)."""
    dialog = open_decision(view, True)
    shown = dialog.request
    production = view.environment("production")
    assert production is not None and production.release is not None
    db = open_database(home)
    try:
        service = ReleaseService(home=home, db=db, identity="dev@example.test")
        service.promote(location, "production", production.release.digest)
        named(dialog, QPushButton, "Approve").click()
        error = named(dialog, QLabel, "Decision error")
        qtbot.waitUntil(error.isVisible, timeout=20_000)
        assert shown.digest.removeprefix("sha256:")[:12] in error.text()
        assert "you reviewed" in error.text() and dialog.isVisible()
        dialog.reject()
        # The approver's run of v1.1.0 lost its request: superseded, visibly.
        assert RunStore(db).get(shown.run_id).status == RunStatus.SUPERSEDED  # type: ignore[union-attr]
        service.promote(location, "production", service.promotable_digest(location, "production"))
    finally:
        db.close()


def check_rollback_dialog(qtbot: QtBot, rollback: RollbackDialog) -> None:
    """Production runs v1.1.0 (after v1.0.0): the dialog shows the engine's changes for
    going back, preselects the release before the current one and offers no current."""
    releases = named(rollback, QTreeWidget, "Earlier releases")
    rows = [releases.topLevelItem(n) for n in range(releases.topLevelItemCount())]
    assert [(r.text(0), r.text(3)) for r in rows if r is not None] == [
        ("v1.1.0", "release, current"),
        ("v1.0.0", "release"),
    ]
    current = rows[0]
    assert current is not None and not current.flags() & Qt.ItemFlag.ItemIsSelectable
    assert not rollback.select_release("v1.1.0")
    chosen = rollback.chosen()
    assert chosen is not None and chosen.tag == "v1.0.0"  # preselected, nothing clicked
    changes = named(rollback, QPlainTextEdit, "Rollback changes")
    qtbot.waitUntil(lambda: "takes away" in changes.toPlainText(), timeout=20_000)
    text = changes.toPlainText()
    heading, count, commit, *rest = text.splitlines()
    assert heading == "Rolling production back from v1.1.0 to v1.0.0 on local (service, 1 replica)"
    assert count == "1 commit it takes away:"
    assert commit.split()[1:4] == ["Say", "hello", "in"], commit
    assert text.count(commit.split()[0]) == 1  # never listed twice
    assert "brings" not in text
    assert rest[0].startswith("Configuration:")


def test_approve_roll_back_and_unpin_from_the_window(
    qtbot: QtBot,
    swarm_gateway_bridge: None,
    window: MainWindow,
    docker_client: docker.DockerClient,
    dockyard_home: Path,
) -> None:
    repository = sample_repository(qtbot, window)
    try:
        run_ref(qtbot, window, "v1.0.0")
        view = show_environments(qtbot, window)
        assert "v1.0.0" in named(view, QLabel, "Release staging").text()
        assert "Awaiting approval: v1.0.0" in named(view, QLabel, "Pending production").text()
        # Nothing runs in production yet: the commits are those of a first release.
        first = named(view, QLabel, "Pending changes production").text()
        assert "in this first release" in first and "since the running release" not in first
        # The tray tells about it (where there is no tray, the notice is still recorded).
        waiting = (
            "hello-dockyard: approval waiting",
            "v1.0.0 waits for an approval to deploy to production (requested by dev@example.test).",
        )
        qtbot.waitUntil(lambda: waiting in window.tray.shown, timeout=20_000)

        # The developer who started the run cannot approve it.
        dialog = decide(qtbot, view, True, "looks good")
        error = named(dialog, QLabel, "Decision error")
        qtbot.waitUntil(error.isVisible, timeout=20_000)
        assert "approve" in error.text().lower() and dialog.isVisible()
        dialog.reject()

        # A second person approves.
        window._identity_changed("rm@example.test")
        dialog = decide(qtbot, view, True, "ship it")
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=180_000)
        qtbot.waitUntil(
            lambda: view.state is not None and view.environment("production").release is not None,  # type: ignore[union-attr]
            timeout=60_000,
        )
        assert "v1.0.0" in named(view, QLabel, "Release production").text()

        # v1.1.0 goes through the same way.
        window._identity_changed("dev@example.test")
        window.tabs.setCurrentWidget(window.runs_view)
        run_ref(qtbot, window, "v1.1.0")
        view = show_environments(qtbot, window)
        assert (
            "1 commit since the running release"
            in named(view, QLabel, "Pending changes production").text()
        )
        window._identity_changed("rm@example.test")
        check_approval_is_bound_to_what_was_shown(qtbot, view, dockyard_home, repository.location)
        view = show_environments(qtbot, window)
        dialog = decide(qtbot, view, True, "")
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=180_000)
        qtbot.waitUntil(
            lambda: "v1.1.0" in named(view, QLabel, "Release production").text(), timeout=60_000
        )

        # Roll production back to v1.0.0, with a comment and a confirmation.
        named(view, QPushButton, "Rollback production").click()
        rollback = view.dialog
        assert isinstance(rollback, RollbackDialog)
        qtbot.waitUntil(lambda: rollback.loaded, timeout=20_000)
        check_rollback_dialog(qtbot, rollback)
        roll = named(rollback, QPushButton, "Roll back")
        assert not roll.isEnabled()
        named(rollback, QLineEdit, "Rollback comment").setText("v1.1.0 breaks checkout")
        confirm = named(rollback, QCheckBox, "Confirm rollback")
        assert confirm.text() == "Yes, roll production back to v1.0.0"
        confirm.setChecked(True)
        assert roll.isEnabled()
        roll.click()
        qtbot.waitUntil(lambda: not rollback.isVisible(), timeout=180_000)
        qtbot.waitUntil(
            lambda: "rollback" in named(view, QLabel, "Release production").text(),
            timeout=60_000,
        )
        assert "v1.0.0" in named(view, QLabel, "Release production").text()
        pin = named(view, QLabel, "Pin production")
        assert "v1.1.0 breaks checkout" in pin.text()

        named(view, QPushButton, "Unpin production").click()
        qtbot.waitUntil(
            lambda: (
                not [w for w in view.findChildren(QLabel) if w.accessibleName() == "Pin production"]
            ),
            timeout=20_000,
        )

        # The audit trail has it all, and the chain holds.
        window.tabs.setCurrentWidget(window.history_view)
        chain = named(window, QLabel, "Chain state")
        qtbot.waitUntil(lambda: "Chain verified" in chain.text(), timeout=20_000)
        actions = {
            window.history_view.model.index(row, 3).data()
            for row in range(window.history_view.model.rowCount())
        }
        assert {"approve", "unpin"} <= actions, actions
    finally:
        window.tasks.wait(60_000)
        remove_deployed(docker_client, repository.location)
