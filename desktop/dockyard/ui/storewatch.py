"""Tells the window when someone else changed the store, so its views show it live.

A run started with ``dockyard run`` in a terminal, an approval given in another window,
a pipeline of this window finishing in its child process: each is a commit through
another database connection. A worker looks (``store.changes``) every couple of seconds;
the window then re-reads what it shows. On the team ledger each look is also the
heartbeat that tells whether the server is reachable (``reached``/``lost``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from dockyard.store.changes import ExternalChanges
from dockyard.store.database import Database
from dockyard.ui.worker import TaskRunner

LOOK_EVERY_MS = 2000
# The team server is told of every change at once (LISTEN/NOTIFY) and a look is one cheap
# round trip: look every second, so another machine's change shows within about a second.
TEAM_LOOK_EVERY_MS = 1000


class StoreWatcher(QObject):
    changed = Signal()
    reached = Signal()  # a look reached the ledger
    lost = Signal(str)  # a look failed: the sentence why

    def __init__(self, tasks: TaskRunner, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._db = db
        self._changes = ExternalChanges(db)
        self._looking = False
        self.timer = QTimer(self)
        self.timer.setInterval(LOOK_EVERY_MS)
        self.timer.timeout.connect(self._look)

    def start(self) -> None:
        team = self._db.dialect == "postgres"
        self.timer.setInterval(TEAM_LOOK_EVERY_MS if team else LOOK_EVERY_MS)
        self.timer.start()
        self._look()  # takes the baseline

    def stop(self) -> None:
        self.timer.stop()

    def restart(self) -> None:
        """Watch the ledger anew (the window switched ledgers): a new baseline."""
        old, self._changes = self._changes, ExternalChanges(self._db)
        self._tasks.submit(old.close, on_error=lambda *_: None)
        self._looking = False
        self.start()

    def _look(self) -> None:
        if self._looking:
            return  # the previous look is still on its way (a busy disk)
        self._looking = True
        self._tasks.submit(self._changes.changed, on_result=self._seen, on_error=self._failed)

    def _seen(self, changed: object) -> None:
        self._looking = False
        self.reached.emit()
        if changed:
            self.changed.emit()

    def _failed(self, message: str, _details: str) -> None:
        # The views report database errors themselves when they read; no message per look.
        self._looking = False
        self.lost.emit(message)
