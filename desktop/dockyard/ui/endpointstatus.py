"""Status-bar badges: each Docker endpoint's state, checked in the background and
marked at once when its Docker event stream breaks or comes back."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from dockyard.engine.endpoints import EndpointRegistry, EndpointStatus, check_endpoint
from dockyard.engine.home import dockyard_home
from dockyard.ui.theme import tones
from dockyard.ui.worker import TaskRunner

CHECK_INTERVAL_MS = 15_000


def _check_all() -> list[EndpointStatus]:
    registry = EndpointRegistry(dockyard_home())
    return [check_endpoint(endpoint) for endpoint in registry.list()]


class EndpointStatusBar:
    """Keeps one label per endpoint in the status bar up to date."""

    def __init__(self, status_bar: QStatusBar, tasks: TaskRunner, parent: QWidget) -> None:
        self.status_bar = status_bar
        self.tasks = tasks
        self.labels: dict[str, QLabel] = {}
        self.checking = False
        self.timer = QTimer(parent)
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.statuses: dict[str, EndpointStatus] = {}

    def refresh(self) -> None:
        if self.checking:
            return
        self.checking = True
        self.tasks.submit(_check_all, on_result=self._show, on_error=self._failed)

    def _failed(self, message: str, details: str) -> None:
        self.checking = False
        self.status_bar.showMessage(message)

    def _show(self, statuses: list[EndpointStatus]) -> None:
        self.checking = False
        for status in statuses:
            self.statuses[status.name] = status
            self.mark(status.name, status.ok, status.message)

    def mark(self, name: str, ok: bool, reason: str) -> None:
        """Shows one endpoint's state now (e.g. when its Docker event stream broke)."""
        label = self.labels.get(name)
        if label is None:
            label = QLabel()
            label.setAccessibleName(f"Endpoint {name}")
            self.labels[name] = label
            self.status_bar.addPermanentWidget(label)
        tone = tones(label)
        colour = tone.ok if ok else tone.error
        state = "connected" if ok else "unreachable"
        label.setText(f'<span style="color:{colour}">●</span> {name}: {state}')
        label.setToolTip(reason)
