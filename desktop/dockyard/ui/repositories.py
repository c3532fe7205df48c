"""The repositories list on the left, with a welcoming empty state.

The list is a thin model over ``RepositoryStore`` plus each repository's latest run
status; both are read in a worker and handed to the model as plain objects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dockyard.store.database import Database
from dockyard.store.repositories import Repository, RepositoryStore
from dockyard.store.runs import RunStore
from dockyard.ui.icons import status_icon
from dockyard.ui.sample import create_sample_repository, default_sample_folder
from dockyard.ui.worker import TaskRunner

ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class RepositoryRow:
    repository: Repository
    latest_status: str  # "" when it never ran


def load_repositories(db: Database) -> list[RepositoryRow]:
    runs = RunStore(db)
    rows = []
    for repository in RepositoryStore(db).list():
        latest = runs.latest(repository.location)
        rows.append(RepositoryRow(repository, str(latest.status) if latest else ""))
    return rows


def create_sample(db: Database, home: Path, folder: Path | None) -> Repository:
    path = create_sample_repository(folder or default_sample_folder(home))
    return RepositoryStore(db).add(str(path))


class RepositoryListModel(QAbstractListModel):
    RepositoryRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[RepositoryRow] = []

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.repository.name
        if role == Qt.ItemDataRole.ToolTipRole:
            status = row.latest_status.replace("_", " ") or "never run"
            watch = "watched" if row.repository.watch else "not watched"
            return f"{row.repository.location}\nLatest run: {status}\n{watch}"
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(row.latest_status) if row.latest_status else None
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return row.latest_status or "never run"
        if role == self.RepositoryRole:
            return row.repository
        return None

    def set_rows(self, rows: list[RepositoryRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def row_of(self, location: str) -> int:
        for number, row in enumerate(self.rows):
            if row.repository.location == location:
                return number
        return -1

    def set_latest_status(self, location: str, status: str) -> None:
        number = self.row_of(location)
        if number < 0 or self.rows[number].latest_status == status:
            return
        self.rows[number] = RepositoryRow(self.rows[number].repository, status)
        index = self.index(number)
        self.dataChanged.emit(index, index)


class RepositoryPanel(QWidget):
    """Left side: the list, or the welcome page when there is nothing yet."""

    selected = Signal(object)  # Repository | None
    add_requested = Signal()
    sample_state = Signal(bool, str)  # creating the sample?, a line for the user

    def __init__(
        self, tasks: TaskRunner, db: Database, home: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.db = db
        self.home = home
        self.model = RepositoryListModel(self)
        self.loaded = False
        self._select_after_load: str | None = None

        self.list = QListView()
        self.list.setAccessibleName("Repositories")
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.selectionModel().currentChanged.connect(self._current_changed)

        self.add_button = self._button("Add…", "Add repository", self.add_requested.emit)
        self.remove_button = self._button("Remove", "Remove repository", self.remove_current)
        self.watch_box = QCheckBox("Watch")
        self.watch_box.setAccessibleName("Watch repository")
        self.watch_box.setToolTip("Start runs on its own when the branches or tags it names change")
        self.watch_box.toggled.connect(self._watch_toggled)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.watch_box)
        self.empty_hint = QLabel("No repositories yet.")
        self.empty_hint.setAccessibleName("Repositories hint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        heading = QLabel("<b>Repositories</b>")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(heading)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_hint)
        layout.addLayout(buttons)
        self._update_buttons()

    def _button(self, text: str, accessible: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(accessible)
        button.clicked.connect(lambda: slot())
        return button

    # ----- loading ----------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        if select is not None:
            self._select_after_load = select
        self.tasks.submit(load_repositories, self.db, on_result=self._loaded)

    def refresh_statuses(self) -> None:
        """Re-reads each repository's latest run state, keeping the list and selection."""
        self.tasks.submit(load_repositories, self.db, on_result=self._statuses_loaded)

    def _statuses_loaded(self, rows: list[RepositoryRow]) -> None:
        if [row.repository.location for row in rows] != [
            row.repository.location for row in self.model.rows
        ]:
            self._loaded(rows)  # added or removed elsewhere
            return
        for row in rows:
            self.model.set_latest_status(row.repository.location, row.latest_status)

    def _loaded(self, rows: list[RepositoryRow]) -> None:
        current = self.current()
        wanted = self._select_after_load or (current.location if current else None)
        self._select_after_load = None
        self.model.set_rows(rows)
        self.loaded = True
        self.empty_hint.setVisible(not rows)
        number = self.model.row_of(wanted) if wanted else -1
        if number < 0 and rows:
            number = 0
        if number >= 0:
            self.list.setCurrentIndex(self.model.index(number))
        else:
            self.selected.emit(None)
        self._update_buttons()

    def current(self) -> Repository | None:
        index = self.list.currentIndex()
        if not index.isValid():
            return None
        value = self.model.data(index, RepositoryListModel.RepositoryRole)
        return value if isinstance(value, Repository) else None

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()
        self.selected.emit(self.current())

    def _update_buttons(self) -> None:
        repository = self.current()
        self.remove_button.setEnabled(repository is not None)
        self.watch_box.setEnabled(repository is not None)
        self.watch_box.blockSignals(True)
        self.watch_box.setChecked(bool(repository and repository.watch))
        self.watch_box.blockSignals(False)

    # ----- actions ----------------------------------------------------------------

    def create_sample(self, folder: Path | None = None) -> None:
        self.sample_state.emit(True, "Creating the sample repository…")

        def created(repository: Repository) -> None:
            self.sample_state.emit(False, "")
            self.refresh(select=repository.location)

        def failed(message: str, _details: str) -> None:
            self.sample_state.emit(False, message)

        self.tasks.submit(
            create_sample, self.db, self.home, folder, on_result=created, on_error=failed
        )

    def remove_current(self) -> None:
        repository = self.current()
        if repository is None:
            return
        self.tasks.submit(
            RepositoryStore(self.db).remove, repository.id, on_result=lambda _: self.refresh()
        )

    def _watch_toggled(self, watch: bool) -> None:
        repository = self.current()
        if repository is None:
            return
        number = self.model.row_of(repository.location)

        def saved(_none: None) -> None:
            if 0 <= number < len(self.model.rows):
                row = self.model.rows[number]
                changed = replace(row.repository, watch=watch)
                self.model.rows[number] = RepositoryRow(changed, row.latest_status)

        self.tasks.submit(RepositoryStore(self.db).set_watch, repository.id, watch, on_result=saved)
