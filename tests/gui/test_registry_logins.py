"""Settings → Registry credentials: stored in the keyring, never shown again in clear."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QPushButton
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named

from dockyard.engine.endpoints.registry_auth import forget_login, stored_login
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.settingsdialog import SettingsDialog
from testbed.cli import run_dockyard

pytestmark = pytest.mark.gui

PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]


def open_settings(qtbot: QtBot, window: MainWindow) -> SettingsDialog:
    window.show_settings()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.registry_logins.loaded, timeout=20_000)
    return dialog


def visible_texts(dialog: SettingsDialog) -> str:
    texts = [w.text() for w in dialog.findChildren(QLineEdit)]
    texts += [w.text() for w in dialog.findChildren(QLabel)]
    texts += dialog.registry_logins.shown_logins()
    return "\n".join(texts)


def test_registry_login_is_kept_in_the_keyring_and_shown_only_by_user(
    qtbot: QtBot, dockyard_home: Path
) -> None:
    registry = f"registry-{uuid.uuid4().hex[:8]}.example.test"
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    try:
        dialog = open_settings(qtbot, window)
        logins = named(dialog, QListWidget, "Registry logins")
        assert dialog.registry_logins.shown_logins() == [
            "No registry logins: pushes use your docker login."
        ]
        assert not named(dialog, QPushButton, "Forget registry login").isEnabled()
        password = named(dialog, QLineEdit, "Registry password")
        assert password.echoMode() == QLineEdit.EchoMode.Password

        named(dialog, QLineEdit, "Registry").setText(registry)
        named(dialog, QLineEdit, "Registry user").setText("alice")
        password.setText(PASSWORD)
        named(dialog, QPushButton, "Log in to registry").click()
        result = named(dialog, QLabel, "Registry result")
        qtbot.waitUntil(lambda: f"Logged in to {registry}." in result.text(), timeout=20_000)
        assert dialog.registry_logins.shown_logins() == [f"{registry} — logged in as alice"]
        assert password.text() == ""
        assert PASSWORD not in visible_texts(dialog)
        assert stored_login(registry) == {"username": "alice", "password": PASSWORD}
        for kept in (path for path in dockyard_home.rglob("*") if path.is_file()):
            assert PASSWORD.encode() not in kept.read_bytes(), kept
        dialog.reject()

        # Opened again (a new dialog), it still knows, from the keyring alone.
        dialog = open_settings(qtbot, window)
        assert dialog.registry_logins.shown_logins() == [f"{registry} — logged in as alice"]
        assert PASSWORD not in visible_texts(dialog)

        logins = named(dialog, QListWidget, "Registry logins")
        logins.setCurrentRow(0)
        forget = named(dialog, QPushButton, "Forget registry login")
        assert forget.isEnabled()
        forget.click()
        result = named(dialog, QLabel, "Registry result")
        qtbot.waitUntil(lambda: "Forgot the login" in result.text(), timeout=20_000)
        assert stored_login(registry) is None
        assert dialog.registry_logins.shown_logins() == [
            "No registry logins: pushes use your docker login."
        ]

        # A missing password is refused with a sentence, and nothing is stored.
        named(dialog, QLineEdit, "Registry").setText(registry)
        named(dialog, QLineEdit, "Registry user").setText("alice")
        named(dialog, QPushButton, "Log in to registry").click()
        qtbot.waitUntil(lambda: "nothing was stored" in result.text(), timeout=20_000)
        assert stored_login(registry) is None
        dialog.reject()
    finally:
        forget_login(registry)
        window.tasks.wait(20_000)


def test_a_login_made_on_the_command_line_shows_in_settings(
    qtbot: QtBot, dockyard_home: Path
) -> None:
    registry = f"registry-{uuid.uuid4().hex[:8]}.example.test"
    made = run_dockyard(
        dockyard_home, "registry", "login", registry, "--username", "bob", stdin=PASSWORD
    )
    assert made.returncode == 0, made.stderr
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    try:
        dialog = open_settings(qtbot, window)
        assert dialog.registry_logins.shown_logins() == [f"{registry} — logged in as bob"]
        dialog.reject()
    finally:
        forget_login(registry)
        window.tasks.wait(20_000)
