"""Settings → Add endpoint checks what ``dockyard hosts add`` checks, in a worker: a bad
name, a silent replacement and a TLS URL without its files are refused in one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named

from dockyard.ui.settingsdialog import SettingsDialog
from dockyard.ui.worker import TaskRunner
from testbed.endpoints import saved_endpoints as saved_hosts

pytestmark = pytest.mark.gui


def add(dialog: SettingsDialog, name: str, url: str, ca: str = "") -> None:
    named(dialog, QLineEdit, "Endpoint name").setText(name)
    named(dialog, QLineEdit, "Endpoint URL").setText(url)
    named(dialog, QLineEdit, "TLS CA file").setText(ca)
    named(dialog, QPushButton, "Add endpoint").click()


def test_add_endpoint_refuses_bad_names_replacements_and_tls_without_files(
    qtbot: QtBot, dockyard_home: Path, tmp_path: Path
) -> None:
    dialog = SettingsDialog(TaskRunner(), dockyard_home)
    qtbot.addWidget(dialog)
    dialog.show()
    result = named(dialog, QLabel, "Endpoint test result")

    add(dialog, "bad name;x", "ssh://ops@127.0.0.1:1")
    qtbot.waitUntil(lambda: "cannot name a Docker endpoint" in result.text(), timeout=30_000)

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    add(dialog, "tls", "tcp://build.example:2376", ca=str(ca))
    qtbot.waitUntil(lambda: result.text().startswith("Refusing plain tcp://"), timeout=30_000)
    assert saved_hosts(dockyard_home) == {}

    add(dialog, "prod", "ssh://ops@127.0.0.1:1")
    # Added, then tested in a worker: nothing listens on port 1.
    qtbot.waitUntil(lambda: "prod: unreachable" in result.text(), timeout=20_000)

    add(dialog, "prod", "ssh://ops@127.0.0.2:1")
    qtbot.waitUntil(lambda: "already exists" in result.text(), timeout=30_000)
    assert saved_hosts(dockyard_home)["prod"]["url"] == "ssh://ops@127.0.0.1:1"

    replace = named(dialog, QCheckBox, "Replace an endpoint of the same name")
    replace.setChecked(True)
    add(dialog, "prod", "ssh://ops@127.0.0.2:1")
    qtbot.waitUntil(lambda: "prod: unreachable" in result.text(), timeout=20_000)
    assert saved_hosts(dockyard_home)["prod"]["url"] == "ssh://ops@127.0.0.2:1"
    assert not replace.isChecked()
    dialog.tasks.wait(20_000)
