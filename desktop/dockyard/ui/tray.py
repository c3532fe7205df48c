"""Tray icon: tells the user when a run fails or an approval waits (where there is a tray)."""

from __future__ import annotations

from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from dockyard.core.model import Run, RunStatus
from dockyard.ui.icons import icon


def run_notification(run: Run, name: str) -> tuple[str, str] | None:
    """(title, text) worth telling the user about this finished run, or None."""
    ref = run.tag or run.ref
    if run.status == RunStatus.FAILED:
        return f"{name}: run failed", f"{ref}: {run.error or 'a stage failed'}"
    if run.status == RunStatus.AWAITING_APPROVAL:
        return f"{name}: approval waiting", f"{ref} passed and waits for an approval to deploy."
    return None


class TrayNotifier:
    def __init__(self, window: QWidget) -> None:
        self.tray: QSystemTrayIcon | None = None
        self.shown: list[tuple[str, str]] = []  # what was notified (also without a tray)
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

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()


def _bring_forward(window: QWidget) -> None:
    window.showNormal()
    window.raise_()
