"""Tells the window when someone else changed the store, so its views show it live.

A run started with ``dockyard run`` in a terminal, an approval given in another window,
a pipeline of this window finishing in its child process: each is a commit through
another database connection. A worker looks (``store.changes``) every couple of seconds;
the window then re-reads what it shows. On the team ledger each look is also the
heartbeat that tells whether the server is reachable (``reached``/``lost``).

``ledger_changed()`` is the entry point for "the ledger (may have) changed", from any
thread: in team mode the server's notifications call it (``engine.team_changes``) the
moment another machine commits, and the timed look is only a safety net. Looks never
overlap; one asked for while another is on its way follows it, so no change is missed.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from dockyard.store.changes import ExternalChanges
from dockyard.store.database import Database
from dockyard.ui.worker import TaskRunner

LOOK_EVERY_MS = 2000
# The team server's notifications wake a look the moment someone commits (and every
# second while it is away): the timed look is a safety net for a notification lost with
# a connection that broke silently.
TEAM_LOOK_EVERY_MS = 5000


class StoreWatcher(QObject):
    changed = Signal()
    reached = Signal()  # a look reached the ledger
    lost = Signal(str)  # a look failed: the sentence why
    _woken = Signal()  # ledger_changed() from any thread, handled on the UI thread

    def __init__(self, tasks: TaskRunner, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._db = db
        self._changes = ExternalChanges(db)
        self._looking = False
        self._look_again = False
        self.timer = QTimer(self)
        self.timer.setInterval(LOOK_EVERY_MS)
        self.timer.timeout.connect(self._look)
        self._woken.connect(self._look)

    def start(self) -> None:
        team = self._db.dialect == "postgres"
        self.timer.setInterval(TEAM_LOOK_EVERY_MS if team else LOOK_EVERY_MS)
        self.timer.start()
        self._look()  # takes the baseline

    def stop(self) -> None:
        self.timer.stop()
        self._look_again = False

    def ledger_changed(self) -> None:
        """The ledger changed, or may have: look now (or right after the look under
        way). Safe to call from any thread."""
        self._woken.emit()

    def restart(self) -> None:
        """Watch the ledger anew (the window switched ledgers): a new baseline."""
        old, self._changes = self._changes, ExternalChanges(self._db)
        self._tasks.submit(old.close, on_error=lambda *_: None)
        self._looking = self._look_again = False
        self.start()

    def _look(self) -> None:
        if not self.timer.isActive():
            return  # stopped (the window is closing) or not started yet
        if self._looking:
            self._look_again = True  # the change may have come after that look read
            return
        self._looking = True
        self._tasks.submit(self._changes.changed, on_result=self._seen, on_error=self._failed)

    def _seen(self, changed: object) -> None:
        self._looked()
        self.reached.emit()
        if changed:
            self.changed.emit()

    def _failed(self, message: str, _details: str) -> None:
        # The views report database errors themselves when they read; no message per look.
        self._looked()
        self.lost.emit(message)

    def _looked(self) -> None:
        self._looking = False
        if self._look_again:
            self._look_again = False
            self._look()
