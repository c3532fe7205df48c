"""Under the runs table: the selected run's stages and the log of the selected stage.

Until the user picks a stage, the view follows the stage that is running, so starting
a run and watching its log needs no clicks. Deployment logs are stage logs named
``deploy-<env>``; any other ``*.log`` in the run's folder is listed too. On the team
ledger a log not on this machine (a run made on another one) is fetched from the ledger.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dockyard.core.model import Run, Stage, StageStatus
from dockyard.store.database import Database
from dockyard.store.logs import stage_log_path
from dockyard.store.shared_logs import fetch_log, shared_stages
from dockyard.ui.icons import icon, status_icon
from dockyard.ui.logview import LogView
from dockyard.ui.runsmodel import format_duration
from dockyard.ui.theme import coloured, tones
from dockyard.ui.worker import TaskRunner

NAME_ROLE = Qt.ItemDataRole.UserRole + 1


def extra_logs(
    folder: Path, known: set[str], db: Database | None = None, run_id: str = ""
) -> list[str]:
    """Stage names of the ``*.log`` files in a run's folder that are not known stages."""
    found = set(shared_stages(db, run_id)) if db is not None else set()
    if folder.is_dir():
        found |= {path.stem for path in folder.glob("*.log")}
    return sorted(found - known)


class RunDetail(QWidget):
    def __init__(
        self,
        tasks: TaskRunner,
        home: Path,
        parent: QWidget | None = None,
        db: Database | None = None,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.home = home
        self.db = db  # the team ledger holds the logs of runs made on other machines
        self.run: Run | None = None
        self.shown_stage: str | None = None
        self.user_picked = False
        self.log_live = False
        self._populating = False

        self.summary = QLabel("Select a run to see its stages and logs.")
        self.summary.setAccessibleName("Run summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.stages = QTreeWidget()
        self.stages.setAccessibleName("Stages")
        self.stages.setHeaderLabels(["Stage", "State", "Duration"])
        self.stages.setRootIsDecorated(False)
        self.stages.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.stages.setColumnWidth(0, 155)  # "deploy-production" and its icon
        self.stages.setColumnWidth(1, 85)
        self.stages.currentItemChanged.connect(self._stage_picked)

        self.log_view = LogView(self, tasks)
        self.log_view.setAccessibleName("Stage log")

        splitter = QSplitter()
        splitter.addWidget(self.stages)
        splitter.addWidget(self.log_view)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([310, 780])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

    # ----- showing a run ----------------------------------------------------------

    def set_run(self, run: Run | None) -> None:
        same = run is not None and self.run is not None and run.id == self.run.id
        self.run = run
        if not same:
            self.user_picked = False
            self.shown_stage = None
            self.log_live = False
            self._populating = True
            self.stages.clear()
            self._populating = False
            self.log_view.set_log(None, live=False)
        self._show_summary()
        self._fill_stages()
        if run is not None:
            folder = stage_log_path(self.home, run.id, "x").parent
            known = {stage.name for stage in run.stages}
            run_id = run.id
            self.tasks.submit(
                extra_logs,
                folder,
                known,
                self.db,
                run_id,
                on_result=lambda names: self._add_extra(run_id, names),
            )

    def apply_stage(self, run_id: str, stage: Stage) -> None:
        if self.run is None or self.run.id != run_id:
            return
        for position, known in enumerate(self.run.stages):
            if known.name == stage.name:
                self.run.stages[position] = stage
                break
        else:
            self.run.stages.append(stage)
        self._fill_stages()

    def _show_summary(self) -> None:
        run = self.run
        if run is None:
            self.summary.setText("Select a run to see its stages and logs.")
            return
        status = str(run.status).replace("_", " ")
        text = f"<b>Run {run.id}</b> — {status}"
        if run.started_by:
            text += f" — started by {run.started_by}"
        if run.digest:
            text += f" — image {run.digest[:19]}"
        if run.error:
            text += "<br>" + coloured(_escape(run.error), tones(self).error)
        self.summary.setText(text)

    def _fill_stages(self) -> None:
        run = self.run
        self._populating = True
        try:
            if run is None:
                self.stages.clear()
                return
            for position, stage in enumerate(run.stages):
                item = self._item_for(stage.name, position)
                item.setText(1, str(stage.status))
                item.setIcon(0, status_icon(str(stage.status)))
                item.setText(2, format_duration(stage.duration))
                item.setToolTip(0, stage.summary or stage.name)
        finally:
            self._populating = False
        self._follow_running_stage()

    def _item_for(self, name: str, position: int) -> QTreeWidgetItem:
        for item in self._items():
            if item.data(0, NAME_ROLE) == name:
                return item
        item = QTreeWidgetItem([name, "", ""])
        item.setData(0, NAME_ROLE, name)
        self.stages.insertTopLevelItem(min(position, self.stages.topLevelItemCount()), item)
        return item

    def _items(self) -> list[QTreeWidgetItem]:
        found = (self.stages.topLevelItem(n) for n in range(self.stages.topLevelItemCount()))
        return [item for item in found if item is not None]

    def _add_extra(self, run_id: str, names: object) -> None:
        if self.run is None or self.run.id != run_id or not isinstance(names, list):
            return
        for name in names:
            item = self._item_for(name, self.stages.topLevelItemCount())
            item.setText(1, "deployment")
            item.setIcon(0, icon("deploy-log"))
            # Written after the run itself ended: an approval, a promotion or a rollback.
            item.setToolTip(0, f"{name}: a later deployment of this run's image")

    # ----- which log --------------------------------------------------------------

    def _follow_running_stage(self) -> None:
        if self.user_picked or self.run is None:
            self._refresh_live()
            return
        wanted = None
        for stage in self.run.stages:
            if stage.status != StageStatus.PENDING:
                wanted = stage.name
            if stage.status == StageStatus.RUNNING:
                break
        if wanted is not None and wanted != self.shown_stage:
            self._select(wanted)
        self._refresh_live()

    def _select(self, name: str) -> None:
        for item in self._items():
            if item.data(0, NAME_ROLE) == name:
                self._populating = True
                self.stages.setCurrentItem(item)
                self._populating = False
                self._show_log(name)
                return

    def _stage_picked(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is None or self._populating:
            return
        self.user_picked = True
        self._show_log(str(current.data(0, NAME_ROLE)))

    def _stage_live(self, name: str) -> bool:
        if self.run is None or self.run.status.finished:
            return False
        for stage in self.run.stages:
            if stage.name == name:
                return not stage.status.finished
        return True  # a deployment log of a run still going

    def _show_log(self, name: str) -> None:
        if self.run is None:
            return
        self.shown_stage = name
        path = stage_log_path(self.home, self.run.id, name)
        self.log_live = self._stage_live(name)
        if self.log_live or self.db is None or self.db.dialect != "postgres":
            self.log_view.set_log(path, live=self.log_live)
            return
        # A run made on another machine: its log comes from the team ledger first.
        run_id = self.run.id
        self.log_view.set_log(None, live=False)

        def fetched(found: bool) -> None:
            if self.run is not None and self.run.id == run_id and self.shown_stage == name:
                self.log_view.set_log(path if found else None, live=False)

        self.tasks.submit(fetch_log, self.db, path, run_id, name, on_result=fetched)

    def _refresh_live(self) -> None:
        if self.shown_stage is None:
            return
        live = self._stage_live(self.shown_stage)
        if live != self.log_live:
            self.log_live = live
            self.log_view.set_live(live)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
