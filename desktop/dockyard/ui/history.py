"""The History tab: the audit trail, filterable, with the chain's verification state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dockyard.store.audit import AuditEntry, AuditLog
from dockyard.store.database import Database
from dockyard.ui.auditformat import audit_moment, describe_details
from dockyard.ui.icons import icon_html
from dockyard.ui.tablemodel import ModelIndex, RecordTableModel
from dockyard.ui.theme import coloured, is_palette_change, tones
from dockyard.ui.worker import TaskRunner

COLUMNS = ("#", "When", "Who", "Action", "Repository", "Environment", "Details")
SHOWN_ENTRIES = 5000


@dataclass(frozen=True)
class AuditState:
    entries: list[AuditEntry]
    problems: list[str]
    total: int


def read_audit(db: Database) -> AuditState:
    log = AuditLog(db)
    problems = log.verify()
    entries = log.entries(limit=SHOWN_ENTRIES)
    total = len(entries) if len(entries) < SHOWN_ENTRIES else entries[-1].seq
    return AuditState(entries, problems, total)


def short_repo(repo: str) -> str:
    return repo.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") if repo else ""


class AuditTableModel(RecordTableModel):
    columns = COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entries: list[AuditEntry] = []

    def records(self) -> list[AuditEntry]:
        return self.entries

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[len(self.entries) - 1 - index.row()]  # newest first
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                str(entry.seq),
                audit_moment(entry.at),
                entry.actor,
                entry.action,
                short_repo(entry.repo),
                entry.environment,
                describe_details(entry.details),
            )[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{entry.at.isoformat()}\n{entry.actor} (OS user {entry.os_user} on {entry.host})\n"
                f"{entry.repo}\n{json.dumps(entry.details, indent=1)}\nhash {entry.hash}"
            )
        return None

    def set_entries(self, entries: list[AuditEntry]) -> None:
        self.beginResetModel()
        self.entries = entries
        self.endResetModel()


class HistoryView(QWidget):
    def __init__(self, tasks: TaskRunner, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.db = db
        self.loading = False
        self.state: AuditState | None = None
        self.model = AuditTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.chain_label = QLabel("Verifying the audit chain…")
        self.chain_label.setAccessibleName("Chain state")
        self.chain_label.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setAccessibleName("History filter")
        self.filter.setPlaceholderText("Filter: who, action, repository, environment…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.chain_label, 1)
        bar.addWidget(self.filter, 1)

        self.table = QTableView()
        self.table.setAccessibleName("Audit trail")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        # Narrow where the values are short, so Details (the rest) gets the room.
        for column, width in enumerate((44, 140, 150, 130, 120, 100)):
            self.table.setColumnWidth(column, width)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

    def refresh(self) -> None:
        if self.loading:
            return
        self.loading = True
        self.tasks.submit(read_audit, self.db, on_result=self._loaded, on_error=self._failed)

    def _failed(self, message: str, _details: str) -> None:
        self.loading = False
        self.chain_label.setText(f"Could not read the audit trail: {message}")

    def _loaded(self, state: object) -> None:
        assert isinstance(state, AuditState)
        self.loading = False
        self.state = state
        self.model.set_entries(state.entries)
        self._show_chain(state)

    def _show_chain(self, state: AuditState) -> None:
        tone = tones(self)
        if state.problems:
            text = "; ".join(state.problems)
            broken = coloured("Chain broken:", tone.error, bold=True)
            self.chain_label.setText(f"{icon_html('status-failed')} {broken} {text}")
        else:
            verified = coloured("Chain verified", tone.ok, bold=True)
            self.chain_label.setText(
                f"{icon_html('status-succeeded')} {verified} ({state.total} entries)"
            )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if is_palette_change(event) and self.state is not None:
            self._show_chain(self.state)
