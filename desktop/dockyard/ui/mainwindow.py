"""The main window: repositories on the left, tabs for the selected one on the right."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dockyard import __version__
from dockyard.core.model import Run
from dockyard.engine.home import dockyard_home
from dockyard.engine.ledger_source import DeferredLedger
from dockyard.engine.pipeline.outcome import PipelineOutcome
from dockyard.engine.release.results import RecoveryReport
from dockyard.engine.team_changes import TeamChangeListener
from dockyard.store.repositories import Repository
from dockyard.ui import messages, preferences
from dockyard.ui.changefeed import ChangeFeed
from dockyard.ui.dockerevents import DockerEventBridge
from dockyard.ui.endpointstatus import EndpointStatusBar
from dockyard.ui.environments import EnvironmentsView
from dockyard.ui.history import HistoryView, short_repo
from dockyard.ui.icons import icon
from dockyard.ui.insights import InsightsView
from dockyard.ui.ledgerstatus import LedgerStatus
from dockyard.ui.overview import OverviewView
from dockyard.ui.pipelineworker import PipelineWorker, RunCoordinator
from dockyard.ui.repositories import RepositoryPanel
from dockyard.ui.runsview import RunsView
from dockyard.ui.theme import coloured, tones
from dockyard.ui.tray import TrayNotifier, read_pending_approvals
from dockyard.ui.watching import RepositoryWatcher
from dockyard.ui.welcome import WelcomePage
from dockyard.ui.worker import TaskRunner

if TYPE_CHECKING:  # dialogs are imported when first opened (settings imports the Docker SDK)
    from dockyard.ui.adddialog import AddRepositoryDialog
    from dockyard.ui.rundialog import RunPipelineDialog
    from dockyard.ui.settingsdialog import SettingsDialog

D = TypeVar("D", bound=QDialog)
log = logging.getLogger("dockyard.ui")

# Docker and git work starts at the latest this long after the window was built, when no
# repository's runs are read first (none selected, or the ledger is away).
STARTUP_GRACE_MS = 1500


def _close_ledger(*closes: Callable[[], None]) -> None:
    """In a pool thread, once the window's tasks have ended: closing connections may wait
    on the disk (SQLite checkpoints its log) or on the team server."""
    try:
        for close in closes:
            close()
    except Exception:  # nobody is left to tell: the window is gone, or the ledger left
        log.warning("closing ledger connections failed", exc_info=True)


def _recover_interrupted(home: Path, db: DeferredLedger, identity: str) -> RecoveryReport:
    """In a worker: the deploy engine (docker and the rest) is imported there, not before
    the window shows."""
    from dockyard.engine.release.status import recover_interrupted

    return recover_interrupted(home, db, identity)


class MainWindow(QMainWindow):
    def __init__(self, home: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"Dockyard {__version__}")
        self.setWindowIcon(icon("dockyard"))
        self.setObjectName("main-window")
        self.resize(1280, 800)
        self.tasks = TaskRunner(on_error=messages.error, parent=self)
        self.home = home or dockyard_home()
        # The team ledger is connected in a worker (self.ledger); the local one opens now.
        self.db = DeferredLedger(self.home)
        # The name typed in Settings ("": the default, which self.ledger reads in a worker).
        self.local_identity = preferences.configured_identity()
        self.runs = RunCoordinator(self.tasks, self.home, self.db, self)
        # What the window shows is stale: its own runs' events and the store's commits, once.
        self.feed = ChangeFeed(self.tasks, self.db, self.runs, self)
        self.closing_after_cancel = False
        self.add_dialog: AddRepositoryDialog | None = None
        self.run_dialog: RunPipelineDialog | None = None
        self.settings_dialog: SettingsDialog | None = None

        self._build_actions()
        self.repositories = RepositoryPanel(self.tasks, self.db, self.home)
        self.repositories.add_requested.connect(self.show_add_repository)
        self.repositories.selected.connect(self._repository_selected)
        self.welcome = WelcomePage()
        self.welcome.add_requested.connect(self.show_add_repository)
        self.welcome.sample_requested.connect(lambda: self.repositories.create_sample())
        self.repositories.sample_state.connect(self.welcome.show_sample_state)

        self.repository_title = QLabel()
        self.repository_title.setAccessibleName("Repository title")
        self.repository_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.runs_view = RunsView(self.tasks, self.db, self.home, self.runs, self.feed)
        self.runs_view.run_button.clicked.connect(self.show_run_pipeline)
        self.history_view = HistoryView(self.tasks, self.db)
        self.environments_view = EnvironmentsView(
            self.tasks, self.db, self.home, lambda: self.identity
        )
        self.overview_view = OverviewView(self.tasks, self.db, self.home, lambda: self.identity)
        self.overview_view.review_requested.connect(self.review_environments)
        self.insights_view = InsightsView(self.tasks, self.db, self.home)
        self.insights_view.run_requested.connect(self.open_run)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Views")
        self.tabs.addTab(self.runs_view, "Runs")
        self.tabs.addTab(self.environments_view, "Environments")
        self.tabs.addTab(self.overview_view, "Overview")
        self.tabs.addTab(self.insights_view, "Insights")
        self.tabs.addTab(self.history_view, "History")
        self.tabs.currentChanged.connect(self._tab_changed)
        repository_page = QWidget()
        right_layout = QVBoxLayout(repository_page)
        right_layout.setContentsMargins(6, 6, 6, 0)
        right_layout.addWidget(self.repository_title)
        right_layout.addWidget(self.tabs, 1)
        # Until a repository is selected the right side explains what to do instead.
        right = QStackedWidget()
        right.setAccessibleName("Main area")
        right.addWidget(self.welcome)
        right.addWidget(repository_page)
        self.repository_page = repository_page
        self.right = right

        self.splitter = QSplitter()
        self.splitter.setObjectName("main-splitter")
        self.splitter.addWidget(self.repositories)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 1020])
        self.ledger_banner = QLabel()
        self.ledger_banner.setAccessibleName("Ledger unreachable")
        self.ledger_banner.setWordWrap(True)
        self.ledger_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.ledger_banner.setContentsMargins(8, 4, 8, 4)
        self.ledger_banner.hide()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.ledger_banner)
        central_layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.ledger = LedgerStatus(
            self.statusBar(), self.ledger_banner, self.tasks, self.db,
            lambda: self.local_identity, self,
        )  # fmt: skip
        self._was_away = False
        self.ledger.changed.connect(self._ledger_changed)
        for calls in (self.environments_view.calls, self.overview_view.calls):
            calls.refusal = self.ledger.refusal

        self.tray = TrayNotifier(self)
        self.feed.run_finished.connect(self._run_finished)
        self.feed.run_changed.connect(self._run_changed)
        self.endpoint_status = EndpointStatusBar(self.statusBar(), self.tasks, self)
        self.docker_events = DockerEventBridge(self.tasks, self.home, self)
        self.docker_events.repositories_changed.connect(self._daemon_changed)
        self.docker_events.endpoint_failed.connect(
            lambda name, reason: self.endpoint_status.mark(name, False, reason)
        )
        self.docker_events.endpoint_listening.connect(lambda _name: self.endpoint_status.refresh())
        self.watcher = RepositoryWatcher(
            self.tasks, self.home, self.db, self.start_watched_run, self
        )
        # Runs and approvals from elsewhere (a terminal, another window) show up live.
        self.feed.changed.connect(self._store_changed)
        self.feed.reached.connect(self.ledger.reached)
        self.feed.lost.connect(self.ledger.lost)
        # In team mode another machine's commit wakes a look at once (LISTEN/NOTIFY).
        self.team_changes = TeamChangeListener(self.db, self.feed.ledger_changed)
        self.ledger.reach()
        self.feed.start()
        self.team_changes.start()
        self._read_approvals()  # the baseline: what waits already is not news
        # Work a crashed Dockyard left behind shows as interrupted, reconciled with the daemon.
        self._recovery_due = True
        # What reaches Docker and git (and imports their libraries in the workers) starts
        # once the selected repository's first runs are shown, not while they are read.
        self._daemons_watched = False
        self._repositories_watched = False
        self.runs_view.model.fetching_changed.connect(self._first_runs_read)
        QTimer.singleShot(STARTUP_GRACE_MS, self, self._watch_daemons)
        messages.bus.error.connect(self.show_error)
        # A bound method, not a lambda: the bus outlives windows, and Qt drops a connection
        # to a method of a destroyed window by itself (a lambda would call into a dead one).
        messages.bus.info.connect(self.show_info)
        self._repository_selected(None)
        self._restore_state()
        self.repositories.refresh()

    def _first_runs_read(self, fetching: bool) -> None:
        if not fetching:  # the page is read; it is shown when this event is done
            QTimer.singleShot(0, self, self._watch_daemons)

    def _watch_daemons(self) -> None:
        """Once: Docker endpoints' badges and events, watched repositories, recovery."""
        if self._daemons_watched:
            return
        self._daemons_watched = True
        self.runs_view.model.fetching_changed.disconnect(self._first_runs_read)
        self.endpoint_status.refresh()
        self.docker_events.start()
        self._act_when_known()

    def _act_when_known(self) -> None:
        """What acts as you starts once who you are is known (git may still be reading
        user.email; in team mode recovery waits for the server to say it)."""
        # Not before: a new commit found meanwhile would be refused, and then never run.
        if not self._repositories_watched and (self.db.team or self.ledger.ready):
            self._repositories_watched = True
            self.watcher.start()
        if self._recovery_due and self.ledger.ready:
            self._recover()

    @property
    def identity(self) -> str:
        """Who acts from this window: in team mode who the server says you are."""
        return self.ledger.identity

    def _build_actions(self) -> None:
        def action(text: str, keys: str, slot: object, icon_name: str = "") -> QAction:
            made = QAction(icon(icon_name) if icon_name else icon("none"), text, self)
            made.setShortcut(QKeySequence(keys))
            made.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            made.triggered.connect(slot)
            self.addAction(made)
            return made

        self.add_repository_action = action(
            "Add repository…", "Ctrl+Shift+A", self.show_add_repository, "add"
        )
        self.run_action = action("Run pipeline…", "Ctrl+R", self.show_run_pipeline, "run")
        self.refresh_action = action("Refresh", "F5", self.refresh, "refresh")
        self.settings_action = action("Settings…", "Ctrl+,", self.show_settings, "settings")
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for item in (
            self.add_repository_action,
            self.run_action,
            self.refresh_action,
            self.settings_action,
        ):
            toolbar.addAction(item)

    # ----- selection and refresh ---------------------------------------------------

    def current_repository(self) -> Repository | None:
        return self.repositories.current()

    def _repository_selected(self, repository: object) -> None:
        repo = repository if isinstance(repository, Repository) else None
        self.run_action.setEnabled(repo is not None)
        self.right.setCurrentWidget(self.welcome if repo is None else self.repository_page)
        if repo is None:
            self.repository_title.setText("<b>No repository selected</b>")
        else:
            self.repository_title.setText(
                f"<b>{repo.name}</b> " + coloured(repo.location, tones(self).muted)
            )
        self.runs_view.set_repository(repo)
        self.environments_view.set_repository(repo)
        self.insights_view.set_repository(repo)
        if self.tabs.currentWidget() in (self.environments_view, self.insights_view):
            self._refresh_current_tab()

    def _tab_changed(self, _index: int) -> None:
        self._refresh_current_tab()

    def _refresh_current_tab(self) -> None:
        current = self.tabs.currentWidget()
        if current is self.runs_view:
            # An approval or rollback elsewhere changes runs' states: show them as they are.
            self.runs_view.model.refresh_loaded()
        elif current is self.history_view:
            self.history_view.refresh()
        elif current is self.environments_view:
            self.environments_view.refresh()
        elif current is self.overview_view:
            self.overview_view.refresh()
        elif current is self.insights_view:
            self.insights_view.refresh()

    def _store_changed(self) -> None:
        self.repositories.refresh_statuses()
        self._refresh_current_tab()
        self._read_approvals()

    def _read_approvals(self) -> None:
        self.tasks.submit(read_pending_approvals, self.db, on_result=self.tray.approvals_waiting)

    def review_environments(self, location: str) -> None:
        """From the Overview: the repository's Environments tab, where approvals are made."""
        current = self.current_repository()
        self.tabs.setCurrentWidget(self.environments_view)
        if current is None or current.location != location:
            self.repositories.refresh(select=location)

    def open_run(self, run_id: str) -> None:
        """From the Insights timeline: the Runs tab with that release's run selected."""
        self.tabs.setCurrentWidget(self.runs_view)
        self.runs_view.select_run_when_shown(run_id, recorded=True)

    def _daemon_changed(self, locations: set[str]) -> None:
        """A daemon reported changes to these repositories' containers or services."""
        current = self.tabs.currentWidget()
        repository = self.current_repository()
        if current is self.overview_view:
            self.overview_view.refresh()
        elif current is self.environments_view and repository and repository.location in locations:
            self.environments_view.refresh()

    def refresh(self) -> None:
        self.repositories.refresh()
        self.endpoint_status.refresh()
        self._refresh_current_tab()

    # ----- dialogs -----------------------------------------------------------------

    def show_add_repository(self) -> None:
        from dockyard.ui.adddialog import AddRepositoryDialog

        dialog = AddRepositoryDialog(self.tasks, self.db, self.home, self)
        dialog.added.connect(lambda repo: self.repositories.refresh(select=repo.location))
        self.add_dialog = self._replace(self.add_dialog, dialog)

    def show_run_pipeline(self) -> None:
        repo = self.current_repository()
        if repo is None:
            return
        from dockyard.ui.rundialog import RunPipelineDialog

        dialog = RunPipelineDialog(self.tasks, self.home, repo.location, repo.name, self)
        dialog.run_requested.connect(self.start_run)
        self.run_dialog = self._replace(self.run_dialog, dialog)

    def show_settings(self) -> None:
        from dockyard.ui.settingsdialog import SettingsDialog

        dialog = SettingsDialog(self.tasks, self.home, self)
        dialog.identity_changed.connect(self._identity_changed)
        dialog.ledger_switched.connect(self.ledger_switched)
        dialog.endpoints_changed.connect(self.endpoint_status.refresh)
        self.settings_dialog = self._replace(self.settings_dialog, dialog)

    @staticmethod
    def _replace(old: QDialog | None, new: D) -> D:
        """Open ``new``; the previous dialog of its kind (closed by now) is deleted.

        Not WA_DeleteOnClose: callers (and tests) may still read a dialog after it closed.
        """
        if old is not None:
            old.deleteLater()
        new.open()
        return new

    def _identity_changed(self, name: str) -> None:
        self.local_identity = name
        self.ledger.show()
        self.statusBar().showMessage(f"Acting as {self.identity}.", 10_000)

    # ----- the ledger ----------------------------------------------------------------

    def _ledger_changed(self) -> None:
        state = self.ledger.state
        if self._daemons_watched:
            self._act_when_known()
        if state == "reachable" and self._was_away:
            self.refresh()  # what changed while the server was away
            self._read_approvals()
        self._was_away = state == "unreachable"

    def ledger_switched(self) -> None:
        """Settings connected this home to a team ledger, or disconnected it."""
        left = self.db.switch()
        if left is not None:  # once the reads under way, through it, have ended
            self.tasks.after_tasks(functools.partial(_close_ledger, left.close))
        self.tray.forget_approvals()  # what waits in the other ledger is not news
        self.ledger.restart()
        self.feed.restart()
        self.team_changes.restart()
        self._read_approvals()
        self.refresh()

    def _refused_while_away(self, what: str) -> bool:
        refused = self.ledger.refusal(what)
        if refused:
            self.show_error(refused, "")
        return refused is not None

    # ----- runs --------------------------------------------------------------------

    def start_run(self, location: str, ref: str) -> None:
        if self._refused_while_away("running a pipeline"):
            return
        worker = self.runs.start(location, ref or None, self.identity)
        self.tabs.setCurrentWidget(self.runs_view)

        def first_event(run: Run) -> None:
            self.runs_view.select_run_when_shown(run.id)
            worker.run_changed.disconnect(first_event)

        worker.run_changed.connect(first_event)
        self.statusBar().showMessage(f"Started a run of {ref}.", 5000)

    def start_watched_run(self, location: str, ref: str) -> PipelineWorker | None:
        """A watched repository got a new commit or tag: run it without changing the view.
        None while the ledger cannot record it: the watcher keeps it for later, and says so."""
        if self.ledger.refusal(f"running {ref} of {short_repo(location)}"):
            return None
        worker = self.runs.start(location, ref, self.identity)

        def recorded(_run: Run) -> None:  # not before: a run may fail to start (said then)
            self.statusBar().showMessage(f"{short_repo(location)}: new {ref}, run started.", 10_000)
            worker.run_changed.disconnect(recorded)

        worker.run_changed.connect(recorded)
        return worker

    def _recover(self) -> None:
        self._recovery_due = False
        self.tasks.submit(
            _recover_interrupted, self.home, self.db, self.identity, on_result=self._recovered
        )

    def _recovered(self, report: RecoveryReport) -> None:
        if not report.empty:
            for line in report.lines():
                messages.info(line)
            self._refresh_current_tab()
            self.repositories.refresh()

    def _run_changed(self, run: Run) -> None:
        self.repositories.model.set_latest_status(run.repo, str(run.status))

    def _run_finished(self, outcome: PipelineOutcome | None) -> None:
        # The views re-read what the run committed when the feed says so (it looks now).
        if outcome is not None:
            self.tray.run_finished(outcome.run, short_repo(outcome.run.repo))
        if self.closing_after_cancel and not self.runs.busy():
            self.close()

    # ----- errors, state and closing ------------------------------------------------

    def show_info(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)

    def show_error(self, message: str, details: str) -> None:
        self.statusBar().showMessage(message, 15_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Dockyard", message, parent=self)
        box.setAccessibleName("Error")
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _restore_state(self) -> None:
        settings = preferences.window_settings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        splitter = settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def _save_state(self) -> None:
        settings = preferences.window_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("window/splitter", self.splitter.saveState())
        settings.sync()

    def ask_about_active_runs(self, count: int) -> bool:
        """True: cancel the runs and quit; False: keep the window (and the runs) going."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Runs in progress")
        box.setText(f"{count} run(s) are still going. Cancel them and quit?")
        box.setInformativeText("Cancelled runs stop their Docker work and are recorded as such.")
        cancel_runs = box.addButton("Cancel runs and quit", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Keep running", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return box.clickedButton() is cancel_runs

    def closeEvent(self, event: QCloseEvent) -> None:
        active = self.runs.active()
        if active:
            if self.closing_after_cancel or self.ask_about_active_runs(len(active)):
                self.closing_after_cancel = True
                self.runs.cancel_all()
                self.statusBar().showMessage(f"Cancelling {len(active)} run(s) before quitting…")
            event.ignore()
            return
        if self.runs.busy():  # cancelled runs still tidying up: quit when they are done
            self.closing_after_cancel = True
            self.statusBar().showMessage("Finishing up before quitting…")
            event.ignore()
            return
        self._save_state()
        self.endpoint_status.timer.stop()
        self.docker_events.close()
        self.watcher.stop()
        self.feed.stop()
        self.team_changes.stop()
        self.tray.hide()
        # Tasks still on their way (a git poll, a repository load) end unheard: their
        # answers would land in a window, and at exit in Qt objects, that are going away.
        self.tasks.shutdown()
        self.runs.tasks.shutdown()
        # The ledger's connections (in team mode, sessions on the server) close once no task
        # of the window uses them any more, not when the process ends.
        self.tasks.after_tasks(functools.partial(_close_ledger, self.feed.close, self.db.close))
        super().closeEvent(event)
