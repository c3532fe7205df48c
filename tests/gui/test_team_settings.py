"""Settings → Team and the status bar: connect (a refused login said as the engine says
it), who the server says you are and what you may approve, "Act as" off in team mode, the
server going away (banner, approvals refused, what was shown kept) and coming back, and
disconnecting. A real PostgreSQL server and keyring; the window offscreen."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot
from tests.gui.helpers import close_window, named, save_screenshot

from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.settingsdialog import SettingsDialog
from testbed.teamdb import TeamDatabase

pytestmark = [pytest.mark.gui, pytest.mark.postgres, pytest.mark.keyring]


def _settings(qtbot: QtBot, window: MainWindow) -> SettingsDialog:
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.team.loaded, timeout=20_000)
    return dialog


def test_connect_from_settings_see_who_you_are_then_the_server_goes_away_and_back(
    qtbot: QtBot, dockyard_home: Path, team: TeamDatabase
) -> None:
    window = MainWindow(home=dockyard_home)
    qtbot.addWidget(window)
    window.show()
    ledger = named(window, QLabel, "Ledger")
    qtbot.waitUntil(lambda: "Ledger: local" in ledger.text(), timeout=30_000)
    assert "you are dev@example.test" in ledger.text()

    dialog = _settings(qtbot, window)
    group = dialog.team
    assert "Not connected" in named(group, QLabel, "Team status").text()
    identity = named(dialog, QLineEdit, "Identity")
    assert identity.isEnabled()

    # A wrong password: the engine's sentence, and the window stays on the local ledger.
    rm = team.release_manager
    named(group, QLineEdit, "Team server URL").setText(team.url(rm))
    named(group, QLineEdit, "Team password").setText("not-the-password")
    named(group, QPushButton, "Connect to the team ledger").click()
    result = named(group, QLabel, "Team result")
    qtbot.waitUntil(lambda: "refused the login" in result.text(), timeout=20_000)
    assert "check the user name and password" in result.text()
    assert "Ledger: local" in ledger.text()

    named(group, QLineEdit, "Team password").setText(team.password(rm))
    named(group, QPushButton, "Connect to the team ledger").click()
    qtbot.waitUntil(lambda: "Connected to" in result.text(), timeout=20_000)
    status = named(group, QLabel, "Team status")
    qtbot.waitUntil(lambda: "You may approve: production" in status.text(), timeout=20_000)
    assert f"You are <b>{rm}</b>" in status.text()
    assert not identity.isEnabled()
    assert "Act as and DOCKYARD_USER are ignored" in named(dialog, QLabel, "Identity note").text()
    qtbot.waitUntil(lambda: "reachable" in ledger.text(), timeout=20_000)
    assert f"you are {rm}" in ledger.text() and "Team ledger" in ledger.text()
    assert window.identity == rm  # not DOCKYARD_USER
    dialog.show_team()
    save_screenshot(dialog, "settings-team.png")
    save_screenshot(window.statusBar(), "statusbar-team.png")
    dialog.close()

    # The server goes away: the banner says so in its sentence, approving is refused.
    banner = named(window, QLabel, "Ledger unreachable")
    team.allow_connections(False)
    try:
        qtbot.waitUntil(banner.isVisible, timeout=30_000)
        assert "team ledger unreachable:" in banner.text()
        assert team.name in banner.text()  # names the server
        # The next look says why new logins fail, in the server's words.
        qtbot.waitUntil(
            lambda: "not currently accepting connections" in banner.text(), timeout=30_000
        )
        assert "unreachable" in ledger.text()
        refused = window.environments_view.calls.refusal("approving")
        assert refused is not None and refused.startswith("team ledger unreachable:")
        assert "nothing is queued on this machine" in refused
        save_screenshot(window, "window-team-unreachable.png")
    finally:
        team.allow_connections(True)
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=30_000)
    qtbot.waitUntil(lambda: ": reachable" in ledger.text(), timeout=30_000)
    assert window.environments_view.calls.refusal("approving") is None

    # Disconnect: back to the local ledger and the window's own identity.
    dialog = _settings(qtbot, window)
    named(dialog.team, QPushButton, "Disconnect from the team ledger").click()
    qtbot.waitUntil(lambda: "Ledger: local" in ledger.text(), timeout=20_000)
    assert named(dialog, QLineEdit, "Identity").isEnabled()
    assert window.identity == "dev@example.test"
    assert not (dockyard_home / "team.json").exists()
    dialog.close()
    close_window(window)


def test_a_window_opened_while_the_team_server_is_away_says_so_without_a_dialog(
    qtbot: QtBot, dockyard_home: Path, team: TeamDatabase
) -> None:
    team.connect_home(dockyard_home, team.developer)
    team.allow_connections(False)
    try:
        began = time.monotonic()
        window = MainWindow(home=dockyard_home)
        qtbot.addWidget(window)
        window.show()
        assert time.monotonic() - began < 2  # the connection is made in a worker
        ledger = named(window, QLabel, "Ledger")
        assert "connecting" in ledger.text() or "unreachable" in ledger.text()
        banner = named(window, QLabel, "Ledger unreachable")
        qtbot.waitUntil(banner.isVisible, timeout=30_000)
        assert "team ledger unreachable:" in banner.text() and team.name in banner.text()
        assert window.identity == ""  # nobody acts until the server says who you are
        refused = window.ledger.refusal("approving")
        assert refused is not None and "team ledger unreachable" in refused
        # One banner, not an error dialog per view that tried to read.
        assert not [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    finally:
        team.allow_connections(True)
    qtbot.waitUntil(lambda: ": reachable" in ledger.text(), timeout=30_000)
    assert not banner.isVisible() and window.identity == team.developer
    close_window(window)


def test_a_password_changed_on_the_server_is_said_once_in_the_banner(
    qtbot: QtBot, dockyard_home: Path, team: TeamDatabase
) -> None:
    team.connect_home(dockyard_home, team.developer)
    with team.admin() as owner:
        owner.execute(f"ALTER ROLE {team.developer} PASSWORD 'changed-by-the-admin'")
    window = MainWindow(home=dockyard_home)
    qtbot.addWidget(window)
    window.show()
    banner = named(window, QLabel, "Ledger unreachable")
    qtbot.waitUntil(banner.isVisible, timeout=30_000)
    assert "refused the login" in banner.text() and "dockyard team connect" in banner.text()
    assert not [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    close_window(window)
