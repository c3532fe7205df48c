"""Settings → Docker endpoints: ssh key and known_hosts files, and importing Docker contexts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QPushButton
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named

from dockyard.ui.settingsdialog import SettingsDialog
from dockyard.ui.worker import TaskRunner
from testbed.endpoints import saved_endpoints as saved_hosts

pytestmark = pytest.mark.gui


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Docker config folder of our own, holding one context ``edge`` (as docker writes it)."""
    folder = tmp_path / "docker-config"
    meta = folder / "contexts" / "meta" / hashlib.sha256(b"edge").hexdigest()
    meta.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": "edge",
                "Metadata": {"Description": "edge box"},
                "Endpoints": {
                    "docker": {"Host": "ssh://deploy@127.0.0.1:1", "SkipTLSVerify": False}
                },
            }
        )
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return folder


def shown_endpoints(dialog: SettingsDialog) -> list[str]:
    endpoints = named(dialog, QListWidget, "Endpoints")
    return [endpoints.item(row).text() for row in range(endpoints.count())]


def test_import_contexts_and_add_an_ssh_endpoint_with_its_files(
    qtbot: QtBot, dockyard_home: Path, docker_config: Path, tmp_path: Path
) -> None:
    dialog = SettingsDialog(TaskRunner(), dockyard_home)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: bool(shown_endpoints(dialog)), timeout=20_000)
    result = named(dialog, QLabel, "Endpoint test result")

    importer = named(dialog, QPushButton, "Import Docker contexts")
    with qtbot.waitSignal(dialog.endpoints_changed, timeout=20_000):
        importer.click()
    assert result.text() == "Docker contexts: edge added."
    assert "edge — ssh://deploy@127.0.0.1:1" in shown_endpoints(dialog)
    assert saved_hosts(dockyard_home)["edge"]["context"] == "edge"
    assert importer.isEnabled()
    with qtbot.waitSignal(dialog.endpoints_changed, timeout=20_000):
        importer.click()
    assert result.text() == "Docker contexts: edge unchanged."

    key, known_hosts = tmp_path / "id_deploy", tmp_path / "known_hosts"
    key.write_text("not a real key: nothing listens on port 1\n")
    known_hosts.write_text("")
    named(dialog, QLineEdit, "Endpoint name").setText("bastion")
    named(dialog, QLineEdit, "Endpoint URL").setText("ssh://ops@127.0.0.1:1")
    named(dialog, QLineEdit, "SSH identity file").setText(str(key))
    named(dialog, QLineEdit, "SSH known_hosts file").setText(str(known_hosts))
    named(dialog, QPushButton, "Add endpoint").click()
    # Adding tests the endpoint at once: nothing listens on port 1.
    qtbot.waitUntil(lambda: "bastion: unreachable" in result.text(), timeout=20_000)
    saved = saved_hosts(dockyard_home)["bastion"]
    assert saved["ssh_identity"] == str(key)
    assert saved["ssh_known_hosts"] == str(known_hosts)
    assert named(dialog, QLineEdit, "SSH identity file").text() == ""
    assert named(dialog, QLineEdit, "SSH known_hosts file").text() == ""
    assert "bastion — ssh://ops@127.0.0.1:1" in shown_endpoints(dialog)
