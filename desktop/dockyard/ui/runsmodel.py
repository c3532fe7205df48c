"""The runs of one repository as a table, fetched from the store page by page.

Pages of ``PAGE_SIZE`` are read in a worker when the view scrolls near the end
(``canFetchMore``/``fetchMore``), so 100,000 runs cost only what is on screen. Live
runs arrive as ``Run``/``Stage`` snapshots from the pipeline workers and replace their
row in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)

from dockyard.core.model import Run, Stage, utcnow
from dockyard.store.database import Database
from dockyard.store.runs import RunStore
from dockyard.ui.icons import status_icon
from dockyard.ui.tablemodel import ModelIndex, RecordTableModel
from dockyard.ui.worker import TaskRunner

PAGE_SIZE = 200
COLUMNS = ("Ref", "Commit", "Author", "Stages", "Started", "Duration")
REF, COMMIT, AUTHOR, STAGES, STARTED, DURATION = range(len(COLUMNS))
RunRole = Qt.ItemDataRole.UserRole + 1


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_moment(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def run_duration(run: Run) -> float | None:
    end = run.finished or (None if run.status.finished else utcnow())
    return None if end is None else (end - run.created).total_seconds()


def stages_text(run: Run) -> str:
    return " · ".join(f"{stage.name}: {stage.status}" for stage in run.stages)


class RunTableModel(RecordTableModel):
    columns = COLUMNS

    fetching_changed = Signal(bool)

    def __init__(self, tasks: TaskRunner, db: Database, parent: Any = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.db = db
        self.location: str | None = None
        self.runs: list[Run] = []
        self.exhausted = True
        self.fetching = False
        self._generation = 0
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)

    # ----- Qt model API -------------------------------------------------------------

    def records(self) -> list[Run]:
        return self.runs

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.runs):
            return None
        run = self.runs[index.row()]
        column = index.column()
        if role == RunRole:
            return run
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(run, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COMMIT:
                return f"{run.commit}\n{run.message}" if run.commit else None
            if column in (REF, STAGES):
                tip = f"Run {run.id}: {run.status.replace('_', ' ')}\n{stages_text(run)}"
                return f"{tip}\n{run.error}" if run.error else tip
        if role == Qt.ItemDataRole.DecorationRole and column == REF:
            return status_icon(str(run.status))
        return None

    @staticmethod
    def _display(run: Run, column: int) -> str:
        if column == REF:
            return run.tag or run.ref
        if column == COMMIT:
            return f"{run.commit[:7]} {run.message}".strip() if run.commit else ""
        if column == AUTHOR:
            return run.author.split(" <", 1)[0]
        if column == STAGES:
            return stages_text(run)
        if column == STARTED:
            return format_moment(run.created)
        if column == DURATION:
            return format_duration(run_duration(run))
        return ""

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self.exhausted and not self.fetching

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or self.location is None:
            return
        self._set_fetching(True)
        generation = self._generation
        self.tasks.submit(
            _read_page,
            self.db,
            self.location,
            len(self.runs),
            on_result=lambda page: self._page_arrived(generation, page),
            on_error=lambda message, details: self._page_failed(generation, message, details),
        )

    # ----- loading -----------------------------------------------------------------

    def set_repository(self, location: str | None) -> None:
        self.beginResetModel()
        self._generation += 1
        self.location = location
        self.runs = []
        self.exhausted = location is None
        self.fetching = False
        self.endResetModel()
        self.fetchMore()

    def reload(self) -> None:
        self.set_repository(self.location)

    def refresh_loaded(self) -> None:
        """Re-read the newest runs in place (an approval elsewhere changed their state).

        Unlike ``reload`` the rows stay (and the selection with them) while it reads.
        """
        if self.location is None:
            return
        generation = self._generation
        self.tasks.submit(
            _read_page,
            self.db,
            self.location,
            0,
            on_result=lambda page: self._refreshed(generation, page),
        )

    def _refreshed(self, generation: int, page: list[Run]) -> None:
        if generation != self._generation:
            return
        # A look after each commit re-reads the newest runs, most of them as they were:
        # only the rows that changed are replaced (and repainted), new runs go on top.
        rows = {run.id: number for number, run in enumerate(self.runs)}
        fresh = []
        for run in page:
            number = rows.get(run.id)
            if number is None:
                fresh.append(run)
            elif self.runs[number] != run:
                self.runs[number] = run
                self._row_changed(number)
        if fresh:
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self.runs[0:0] = fresh  # the page's order: newest first
            self.endInsertRows()
        self._update_ticker()

    def _set_fetching(self, fetching: bool) -> None:
        self.fetching = fetching
        self.fetching_changed.emit(fetching)

    def _page_arrived(self, generation: int, page: list[Run]) -> None:
        if generation != self._generation:
            return
        self._set_fetching(False)
        self.exhausted = len(page) < PAGE_SIZE
        known = {run.id for run in self.runs}
        fresh = [run for run in page if run.id not in known]
        if fresh:
            first = len(self.runs)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self.runs.extend(fresh)
            self.endInsertRows()
        self._update_ticker()

    def _page_failed(self, generation: int, message: str, details: str) -> None:
        if generation == self._generation:
            self._set_fetching(False)
            self.exhausted = True
        from dockyard.ui import messages

        messages.error(message, details)

    # ----- live updates ------------------------------------------------------------

    def row_of(self, run_id: str) -> int:
        for number, run in enumerate(self.runs):
            if run.id == run_id:
                return number
        return -1

    def run_at(self, row: int) -> Run | None:
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def apply_run(self, run: Run) -> None:
        if run.repo != self.location:
            return
        number = self.row_of(run.id)
        if number < 0:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self.runs.insert(0, run)
            self.endInsertRows()
        else:
            self.runs[number] = run
            self._row_changed(number)
        self._update_ticker()

    def apply_stage(self, run_id: str, stage: Stage) -> None:
        number = self.row_of(run_id)
        if number < 0:
            return
        run = self.runs[number]
        for position, known in enumerate(run.stages):
            if known.name == stage.name:
                run.stages[position] = stage
                break
        else:
            run.stages.append(stage)
        self._row_changed(number)

    def _row_changed(self, number: int) -> None:
        self.dataChanged.emit(self.index(number, 0), self.index(number, len(COLUMNS) - 1))

    def _update_ticker(self) -> None:
        running = any(not run.status.finished for run in self.runs[:PAGE_SIZE])
        if running and not self._ticker.isActive():
            self._ticker.start()
        elif not running:
            self._ticker.stop()

    def _tick(self) -> None:
        for number, run in enumerate(self.runs[:PAGE_SIZE]):
            if not run.status.finished:
                index = self.index(number, DURATION)
                self.dataChanged.emit(index, index)
        self._update_ticker()


def _read_page(db: Database, location: str, offset: int) -> list[Run]:
    return RunStore(db).list(location, limit=PAGE_SIZE, offset=offset)
