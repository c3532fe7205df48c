"""What the tray tells: failed runs, and approvals that start waiting (not old ones)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from dockyard.core.model import Run, RunStatus, utcnow
from dockyard.core.releases import ApprovalRequest, ApprovalStatus
from dockyard.ui.tray import TrayNotifier

REQUEST = ApprovalRequest(
    id=1, repo="/src/shop.git", environment="production", run_id="r1", digest="sha256:" + "a" * 64,
    image="localhost:5000/shop", commit="c0ffee123456789abcdef0123456789abcdef0", tag="v1.0.0",
    config_fingerprint="f", config={}, requested_by="dev@example.test", created=utcnow(),
    expires=None, status=ApprovalStatus.PENDING,
)  # fmt: skip


def test_approvals_waiting_when_the_window_opened_are_not_news(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    tray = TrayNotifier(window)
    tray.approvals_waiting([REQUEST])  # the first look
    assert tray.shown == []
    newer = replace(REQUEST, id=2, tag=None, environment="staging")
    tray.approvals_waiting([REQUEST, newer])
    tray.approvals_waiting([REQUEST, newer])  # told once
    assert tray.shown == [
        (
            "shop: approval waiting",
            "c0ffee123456 waits for an approval to deploy to staging "
            "(requested by dev@example.test).",
        )
    ]


def test_a_failed_run_is_told_a_successful_one_is_not(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    tray = TrayNotifier(window)
    run = Run(id="r1", repo="/src/shop", ref="main", status=RunStatus.SUCCEEDED)
    tray.run_finished(run, "shop")
    assert tray.shown == []
    tray.run_finished(replace(run, status=RunStatus.FAILED, error="The test failed."), "shop")
    assert tray.shown == [("shop: run failed", "main: The test failed.")]
