"""The Runs tab: the lazily fetched runs table, its actions, and the run detail below."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelection, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dockyard.core.model import Run, Stage
from dockyard.store.database import Database
from dockyard.store.repositories import Repository
from dockyard.ui.changefeed import ChangeFeed
from dockyard.ui.icons import icon
from dockyard.ui.pipelineworker import RunCoordinator
from dockyard.ui.rundetail import RunDetail
from dockyard.ui.runsmodel import COLUMNS, STAGES, RunTableModel
from dockyard.ui.stagechips import StageChipsDelegate
from dockyard.ui.worker import TaskRunner


class RunsView(QWidget):
    def __init__(
        self,
        tasks: TaskRunner,
        db: Database,
        home: Path,
        runs: RunCoordinator,
        feed: ChangeFeed,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.coordinator = runs
        self.repository: Repository | None = None
        self.model = RunTableModel(tasks, db, self)
        self._select_run_id: str | None = None
        self._select_older = False

        self.run_button = QPushButton(icon("run"), "Run pipeline…")
        self.run_button.setAccessibleName("Run pipeline")
        self.run_button.setToolTip("Run the pipeline for a branch, tag or commit (Ctrl+R)")
        self.cancel_button = QPushButton(icon("cancel"), "Cancel run")
        self.cancel_button.setAccessibleName("Cancel run")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.count_label = QLabel()
        self.count_label.setAccessibleName("Runs count")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.run_button)
        bar.addWidget(self.cancel_button)
        bar.addStretch(1)
        bar.addWidget(self.count_label)

        self.table = QTableView()
        self.table.setAccessibleName("Runs")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(STAGES, StageChipsDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for column, width in enumerate((110, 260, 130, 420, 90, 70)):
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.detail = RunDetail(tasks, home, self, db)
        splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(bar)
        top_layout.addWidget(self.table, 1)
        splitter.addWidget(top)
        splitter.addWidget(self.detail)
        splitter.setSizes([300, 420])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.model.rowsInserted.connect(self._rows_inserted)
        self.model.modelReset.connect(self._update_count)
        self.model.dataChanged.connect(lambda *_: self._update_buttons())
        feed.run_changed.connect(self._run_changed)
        feed.stage_changed.connect(self._stage_changed)
        self._update_buttons()

    def set_repository(self, repository: Repository | None) -> None:
        same = repository is not None and self.repository is not None
        if same and repository.location == self.repository.location:  # type: ignore[union-attr]
            self.repository = repository
            return
        self.repository = repository
        self.detail.set_run(None)
        self.model.set_repository(repository.location if repository else None)
        self._update_buttons()

    def refresh(self) -> None:
        self.model.reload()

    def select_run_when_shown(self, run_id: str, *, recorded: bool = False) -> None:
        """Select this run as soon as its row exists: a new one (after "Run pipeline…")
        arrives live; a ``recorded`` one (from Insights) may need older pages read."""
        self._select_run_id = run_id
        self._select_older = recorded
        self._select_pending()

    def selected_run(self) -> Run | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.run_at(rows[0].row()) if rows else None

    def cancel_selected(self) -> None:
        run = self.selected_run()
        if run is not None and self.coordinator.cancel(run.id):
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Cancelling…")

    # ----- live updates ------------------------------------------------------------

    def _run_changed(self, run: Run) -> None:
        self.model.apply_run(run)
        selected = self.selected_run()
        if selected is not None and selected.id == run.id:
            self.detail.set_run(run)
        self._select_pending()

    def _stage_changed(self, run_id: str, stage: Stage) -> None:
        self.model.apply_stage(run_id, stage)
        self.detail.apply_stage(run_id, stage)

    def _select_pending(self) -> None:
        if self._select_run_id is None:
            return
        row = self.model.row_of(self._select_run_id)
        if row >= 0:
            self._select_run_id = None
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        elif self._select_older and self.model.canFetchMore():
            self.model.fetchMore()

    def _rows_inserted(self, _parent: QModelIndex, _first: int, _last: int) -> None:
        self._update_count()
        self._select_pending()  # a run asked for (from Insights) may have just been loaded
        if not self.table.selectionModel().hasSelection() and self.model.rowCount() > 0:
            self.table.selectRow(0)

    def _update_count(self) -> None:
        shown = self.model.rowCount()
        more = "+" if not self.model.exhausted else ""
        self.count_label.setText(f"{shown}{more} runs" if shown else "No runs yet")

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.detail.set_run(self.selected_run())
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(self.repository is not None)
        run = self.selected_run()
        running = (
            run is not None
            and not run.status.finished
            and self.coordinator.worker_for(run.id) is not None
        )
        self.cancel_button.setEnabled(running)
        if not running:
            self.cancel_button.setText("Cancel run")


__all__ = ["COLUMNS", "RunsView"]
