"""The approval card shows what the engine says about secrets the request was made
without; it does not look at the keyring itself."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, waiting_production

from dockyard.store.database import open_database
from dockyard.ui.environments import EnvironmentsState, EnvironmentsView
from dockyard.ui.messages import error
from dockyard.ui.worker import TaskRunner

pytestmark = pytest.mark.gui
NOTE = "secret api_token: not set; set it with: dockyard secret set /srv/shop production api_token"


def test_the_approval_card_says_which_secret_is_not_set(qtbot: QtBot, dockyard_home: Path) -> None:
    waiting = waiting_production()
    (env,) = waiting.status.environments
    with_note = replace(env, pending_not_set=["api_token"], pending_notes=[NOTE])
    state = EnvironmentsState(replace(waiting.status, environments=[with_note]), {})
    view = EnvironmentsView(
        TaskRunner(on_error=error), open_database(dockyard_home), dockyard_home, lambda: "rm@x"
    )
    qtbot.addWidget(view)
    view.show_state(state)
    assert NOTE in named(view, QLabel, "Pending production").text()
