"""Settings → Team: connect this Dockyard to a team ledger on PostgreSQL, see who the
server says you are and what you may approve, disconnect.

The same engine calls as ``dockyard team connect/status/disconnect``, in a worker (they
talk to the server and the keyring); their refusals are shown as the engine says them.
psycopg is imported inside the workers: a window on the local ledger never pays for it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from dockyard.engine.ledger_source import in_team_mode
from dockyard.ui.icons import icon_html
from dockyard.ui.worker import TaskRunner

if TYPE_CHECKING:
    from dockyard.engine.team import Connected, TeamStatus

NOT_CONNECTED = (
    "Not connected: this Dockyard keeps its ledger on this machine. To share one with your "
    "team, enter the team server's URL and your password."
)


def read_team_status(home: Path) -> TeamStatus | None:
    """In a worker: the team ledger's status, or None when this home is not connected."""
    if not in_team_mode(home):
        return None
    from dockyard.engine.team import team_status

    return team_status(home)


def connect_team(home: Path, url: str, password: str) -> Connected:
    from dockyard.engine.team import connect

    return connect(home, url, password or None)


def disconnect_team(home: Path) -> None:
    from dockyard.engine.team import disconnect

    disconnect(home)


def describe_status(status: TeamStatus | None) -> str:
    """The status as the dialog shows it (rich text): server, reachable, who, rights."""
    if status is None:
        return escape(NOT_CONNECTED)
    if not status.reachable:
        return (
            f"{icon_html('status-failed')} Team ledger <b>{escape(status.server)}</b>: "
            f"unreachable — {escape(status.error)}"
        )
    lines = [
        f"{icon_html('status-succeeded')} Team ledger <b>{escape(status.server)}</b>: reachable",
        f"You are <b>{escape(status.me)}</b>{' (team admin)' if status.admin else ''}.",
        "You may approve: "
        + (escape(", ".join(status.approves)) if status.approves else "no environment")
        + ".",
    ]
    if status.schema_version == 0:
        lines.append("The server has no Dockyard schema yet; a team admin runs: dockyard team init")
    return "<br>".join(lines)


class TeamGroup(QGroupBox):
    """Connect, status and disconnect; ``switched`` when this home changed ledgers."""

    switched = Signal(bool)  # True: now in team mode

    def __init__(self, tasks: TaskRunner, home: Path, parent: QWidget | None = None) -> None:
        super().__init__("Team", parent)
        self.tasks = tasks
        self.home = home
        self.loaded = False  # the status was read at least once (tests wait on it)
        self.status_label = QLabel("Reading the team ledger's status…")
        self.status_label.setAccessibleName("Team status")
        self.status_label.setWordWrap(True)
        self.url_edit = QLineEdit()
        self.url_edit.setAccessibleName("Team server URL")
        self.url_edit.setPlaceholderText(
            "postgresql://you@db.example.com/dockyard?sslmode=verify-full"
        )
        self.password_edit = QLineEdit()
        self.password_edit.setAccessibleName("Team password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("kept in the OS keyring")
        self.connect_button = QPushButton("Connect")
        self.connect_button.setAccessibleName("Connect to the team ledger")
        self.connect_button.clicked.connect(self.connect_to_team)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setAccessibleName("Disconnect from the team ledger")
        self.disconnect_button.clicked.connect(self.disconnect_from_team)
        self.result_label = QLabel()
        self.result_label.setAccessibleName("Team result")
        self.result_label.setWordWrap(True)
        for label in (self.status_label, self.result_label):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout(self)
        form.addRow(self.status_label)
        form.addRow("Server URL:", self.url_edit)
        form.addRow("Password:", self.password_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        form.addRow(self.result_label)
        self._show_connected(in_team_mode(home))
        self.reload()

    def reload(self) -> None:
        self.tasks.submit(
            read_team_status, self.home, on_result=self._show_status, on_error=self._failed
        )

    def _show_status(self, status: TeamStatus | None) -> None:
        self.loaded = True
        self.status_label.setText(describe_status(status))
        self._show_connected(status is not None)

    def _show_connected(self, connected: bool) -> None:
        self.disconnect_button.setEnabled(connected)
        self.connect_button.setToolTip(
            "Connect to another team server instead" if connected else "Join a team ledger"
        )

    def connect_to_team(self) -> None:
        url = self.url_edit.text().strip()
        if not url:
            self.result_label.setText(
                "Enter the team server's URL, e.g. " + self.url_edit.placeholderText()
            )
            return
        self.connect_button.setEnabled(False)
        self.result_label.setText("Connecting…")
        self.tasks.submit(
            connect_team,
            self.home,
            url,
            self.password_edit.text(),
            on_result=self._connected,
            on_error=self._failed,
        )

    def _connected(self, connected: Connected) -> None:
        self.connect_button.setEnabled(True)
        self.password_edit.clear()
        where = f"{connected.server.address} as {connected.server.user}"
        self.result_label.setText(
            f"Connected to {escape(where)}. The window now works on the team ledger."
        )
        self.switched.emit(True)
        self.reload()

    def disconnect_from_team(self) -> None:
        self.disconnect_button.setEnabled(False)

        def done(_none: None) -> None:
            self.result_label.setText(
                "Disconnected: the window works on this machine's ledger again (the team's "
                "history stays on the server)."
            )
            self.switched.emit(False)
            self.reload()

        self.tasks.submit(disconnect_team, self.home, on_result=done, on_error=self._failed)

    def _failed(self, message: str, _details: str) -> None:
        self.loaded = True
        self.connect_button.setEnabled(True)
        self._show_connected(in_team_mode(self.home))
        self.result_label.setText(escape(message))
