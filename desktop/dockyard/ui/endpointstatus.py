"""Status-bar badges: each Docker endpoint's state, checked in the background and
marked at once when its Docker event stream breaks or comes back."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from dockyard.engine.endpoints.record import Endpoint
from dockyard.engine.home import dockyard_home
from dockyard.ui.endpointcalls import check_endpoint, list_endpoints
from dockyard.ui.icons import icon_html
from dockyard.ui.worker import TaskRunner

if TYPE_CHECKING:
    from dockyard.engine.endpoints.registry import EndpointStatus

CHECK_INTERVAL_MS = 15_000


class EndpointStatusBar:
    """Keeps one label per endpoint in the status bar up to date."""

    def __init__(self, status_bar: QStatusBar, tasks: TaskRunner, parent: QWidget) -> None:
        self.status_bar = status_bar
        self.tasks = tasks
        self.labels: dict[str, QLabel] = {}
        self.checking: set[str] = set()  # endpoints whose check is under way
        self.timer = QTimer(parent)
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.statuses: dict[str, EndpointStatus] = {}

    def refresh(self) -> None:
        self.tasks.submit(
            list_endpoints, dockyard_home(), on_result=self._check, on_error=self._failed
        )

    def _check(self, endpoints: list[Endpoint]) -> None:
        # One task per endpoint: a host that takes its 10 s to time out delays only its badge.
        for endpoint in endpoints:
            if endpoint.name in self.checking:
                continue
            self.checking.add(endpoint.name)
            self.tasks.submit(
                check_endpoint,
                endpoint,
                on_result=self._show,
                on_error=functools.partial(self._check_failed, endpoint.name),
                abandon_at_exit=True,
            )

    def _failed(self, message: str, details: str) -> None:
        self.status_bar.showMessage(message)

    def _check_failed(self, name: str, message: str, details: str) -> None:
        self.checking.discard(name)
        self.mark(name, False, message)

    def _show(self, status: EndpointStatus) -> None:
        self.checking.discard(status.name)
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
        mark = icon_html("status-succeeded" if ok else "status-failed", 12)
        state = "connected" if ok else "unreachable"
        label.setText(f"{mark} {name}: {state}")
        label.setToolTip(reason)
