"""The History table reads like a log a person scans: full date and time, and details as
a short sentence (empty values gone, hashes short), with the complete JSON on hover."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named

from dockyard.store.audit import AuditLog
from dockyard.store.database import open_database
from dockyard.ui.auditformat import audit_moment, describe_details
from dockyard.ui.history import FIRST_PAGE, HistoryView
from dockyard.ui.messages import error
from dockyard.ui.worker import TaskRunner

DEPLOY = {
    "deployment": 7,
    "outcome": "deployed",
    "error": "",
    "digest": "sha256:5b558ac09c2e4baf755e345b673a8da4a90b6fe4cb8e7fe974a09106e67cfc50",
    "image": "localhost:5000/shop@sha256:5b558ac09c2e",
    "commit": "c129bad0d3b1f6a0e6d2c4f4b1e2a3c4d5e6f708",
    "tag": "v1.0.0",
    "approved_by": ["rm@example.test"],
    "rolled_back_from": None,
    "comment": "",
}


def test_details_skip_empty_values_shorten_hashes_and_lead_with_the_release() -> None:
    assert describe_details(DEPLOY) == (
        "v1.0.0 · deployed · approved by rm@example.test · digest 5b558ac09c2e · commit c129bad"
    )


def test_where_a_deployment_went_follows_its_outcome() -> None:
    details = {**DEPLOY, "target": "prod-b (service, 2 replicas)"}
    assert describe_details(details).startswith(
        "v1.0.0 · deployed · on prod-b (service, 2 replicas) · approved by rm@example.test"
    )


def test_a_comment_is_quoted_and_comes_first_after_the_release() -> None:
    details = {"request": 3, "digest": "sha256:" + "ab" * 32, "comment": "release meeting: go"}
    assert describe_details(details) == "“release meeting: go” · digest abababababab"
    assert describe_details({"approved_by": [], "comment": ""}) == ""


def test_the_moment_has_a_date_even_today() -> None:
    moment = datetime.now(UTC)
    assert audit_moment(moment) == moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.gui
def test_history_table_shows_date_time_readable_details_and_json_on_hover(
    qtbot: QtBot, dockyard_home: Path
) -> None:
    db = open_database(dockyard_home)
    AuditLog(db).append(
        "deploy", actor="ops@example.test", repo="/srv/shop", environment="prod", details=DEPLOY
    )
    view = HistoryView(TaskRunner(on_error=error), db)
    qtbot.addWidget(view)
    view.refresh()
    table = named(view, QTableView, "Audit trail")
    qtbot.waitUntil(lambda: table.model().rowCount() == 1, timeout=30_000)
    model = table.model()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", model.index(0, 1).data())
    details = model.index(0, 6).data()
    assert details.startswith("v1.0.0 · deployed")
    assert "rolled back" not in details and "comment" not in details and "[]" not in details
    tooltip = model.index(0, 6).data(Qt.ItemDataRole.ToolTipRole)
    assert '"digest": "sha256:5b558ac09c2e4baf' in tooltip and '"rolled_back_from": null' in tooltip
    # Every answer delivered (and its binding deleted) while the view and its runner live.
    qtbot.waitUntil(lambda: not view.tasks.live, timeout=30_000)
    qtbot.wait(20)
    db.close()


@pytest.mark.gui
def test_a_long_trail_shows_its_newest_entries_then_the_older_ones_and_its_verdict(
    qtbot: QtBot, dockyard_home: Path
) -> None:
    db = open_database(dockyard_home)
    audit = AuditLog(db)
    for number in range(FIRST_PAGE + 30):
        audit.append("approve", actor=f"dev{number}@example.test", details={"tag": f"v{number}"})
    view = HistoryView(TaskRunner(on_error=error), db)
    qtbot.addWidget(view)
    view.refresh()
    table = named(view, QTableView, "Audit trail")
    qtbot.waitUntil(lambda: table.model().rowCount() == FIRST_PAGE + 30, timeout=30_000)
    qtbot.waitUntil(lambda: "Chain verified" in view.chain_label.text(), timeout=30_000)
    assert f"({FIRST_PAGE + 30} entries)" in view.chain_label.text()
    model = table.model()
    assert [model.index(row, 0).data() for row in (0, FIRST_PAGE, FIRST_PAGE + 29)] == [
        str(FIRST_PAGE + 30),
        "30",
        "1",
    ]  # newest first, the older page after the first
    view.filter.setText("V3 ")  # any case; in the details sentence, which starts "v3"
    assert model.rowCount() == 0
    view.filter.setText("DEV3@")
    assert [model.index(0, 2).data()] == ["dev3@example.test"] and model.rowCount() == 1
    # Every answer delivered (and its binding deleted) while the view and its runner live.
    qtbot.waitUntil(lambda: not view.tasks.live, timeout=30_000)
    qtbot.wait(20)
    db.close()
