"""Tray icon: tells the user when a run fails or an approval waits (where there is a tray).

Failures are those of the window's own runs. Approvals are every request that starts
waiting, whoever asked for it (a run of this window, ``dockyard run`` in a terminal, a
promotion in another window): the window reads them when the store changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from dockyard.core.model import Run, RunStatus
from dockyard.core.releases import ApprovalRequest
from dockyard.store.database import Database
from dockyard.store.ledger import SqliteReleaseLedger
from dockyard.ui.history import short_repo
from dockyard.ui.icons import icon


def run_notification(run: Run, name: str) -> tuple[str, str] | None:
    """(title, text) worth telling the user about this finished run, or None."""
    if run.status == RunStatus.FAILED:
        return f"{name}: run failed", f"{run.tag or run.ref}: {run.error or 'a stage failed'}"
    return None


def approval_notification(request: ApprovalRequest, name: str) -> tuple[str, str]:
    release = request.label
    return (
        f"{name}: approval waiting",
        f"{release} waits for an approval to deploy to {request.environment} "
        f"(requested by {request.requested_by}).",
    )


def read_pending_approvals(db: Database) -> list[ApprovalRequest]:
    """In a worker: every request waiting for a decision."""
    return SqliteReleaseLedger(db).pending_approvals()


class TrayNotifier:
    def __init__(self, window: QWidget) -> None:
        self.tray: QSystemTrayIcon | None = None
        self.shown: list[tuple[str, str]] = []  # what was notified (also without a tray)
        self._known_requests: set[int] | None = None  # None until the first look
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon("dockyard"), window)
            self.tray.setToolTip("Dockyard")
            self.tray.activated.connect(lambda _reason: _bring_forward(window))
            self.tray.show()

    def notify(self, title: str, text: str, failure: bool) -> None:
        self.shown.append((title, text))
        if self.tray is not None:
            kind = (
                QSystemTrayIcon.MessageIcon.Critical
                if failure
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.tray.showMessage(title, text, kind, 10_000)

    def run_finished(self, run: Run, name: str) -> None:
        message = run_notification(run, name)
        if message is not None:
            self.notify(*message, failure=run.status == RunStatus.FAILED)

    def approvals_waiting(self, requests: Iterable[ApprovalRequest]) -> None:
        """Tells about the requests not seen waiting before (none at the first look: the
        window shows what already waited when it opened)."""
        requests = list(requests)
        known, self._known_requests = self._known_requests, {r.id for r in requests}
        if known is None:
            return
        for request in requests:
            if request.id not in known:
                message = approval_notification(request, short_repo(request.repo))
                self.notify(*message, failure=False)

    def forget_approvals(self) -> None:
        """The next look is a first look again (the window switched ledgers)."""
        self._known_requests = None

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()


def _bring_forward(window: QWidget) -> None:
    window.showNormal()
    window.raise_()
