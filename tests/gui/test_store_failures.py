"""The window says the store's own sentence when the disk is full or the database is
damaged, and still shows what was recorded while the disk is full."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dockyard.core.errors import InfrastructureError
from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.ui.app import startup_failure
from dockyard.ui.mainwindow import MainWindow
from testbed.corruption import damage_a_page
from testbed.smalldisk import fill_up, small_disk

pytestmark = pytest.mark.gui


def test_window_on_a_full_disk_shows_what_was_recorded_and_says_the_disk_is_full(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_disk(tmp_path / "small-home") as home:
        monkeypatch.setenv("DOCKYARD_HOME", str(home))
        db = open_database(home)
        RepositoryStore(db).add(str(tmp_path))
        db.close()
        fill_up(home)

        window = MainWindow(home=home)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.repositories.loaded, timeout=30_000)
        assert window.repositories.model.rowCount() == 1  # read from the full disk

        window.welcome.sample_button.click()  # writes a repository: the disk is full
        qtbot.waitUntil(lambda: "is full" in window.welcome.sample_status.text(), timeout=30_000)
        text = window.welcome.sample_status.text()
        assert text.startswith("The disk holding DOCKYARD_HOME") and "free some space" in text
        window.tasks.wait(10_000)
        window.close()


def test_window_refuses_a_damaged_database_with_how_to_restore_it(
    qtbot: QtBot, dockyard_home: Path
) -> None:
    db = open_database(dockyard_home)
    RepositoryStore(db).add(str(dockyard_home))
    db.close()
    damage_a_page(dockyard_home / "dockyard.db")

    with pytest.raises(InfrastructureError) as refused:
        MainWindow(home=dockyard_home)
    box = startup_failure(refused.value.message)
    qtbot.addWidget(box)
    assert "is damaged" in box.text() and ".recover" in box.text()
