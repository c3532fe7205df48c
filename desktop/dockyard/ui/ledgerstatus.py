"""Which ledger the window works on, whether it answers, and who you are.

The status bar says it (local, or the team server and reachable); while the team server
is away a banner says "team ledger unreachable: …", the views keep what they last showed,
and approving, deploying and rolling back are refused (``refusal``) until it is back.
The team ledger is reached in a worker: the window never waits on the network. On the
local ledger you are the name typed in Settings, else what the CLI would use; git's
user.email is read in a worker too (a subprocess), and acting waits until it answered.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from dockyard.engine.home import current_identity, declared_identity
from dockyard.engine.ledger_source import DeferredLedger, LedgerInfo, reach_ledger
from dockyard.ui.icons import icon_html
from dockyard.ui.worker import TaskRunner

LOCAL, CONNECTING, REACHABLE, UNREACHABLE = "local", "connecting", "reachable", "unreachable"


class LedgerStatus(QObject):
    changed = Signal()  # the state or the identity changed

    def __init__(
        self,
        status_bar: QStatusBar,
        banner: QLabel,
        tasks: TaskRunner,
        db: DeferredLedger,
        local_identity: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.db = db
        self.local_identity = local_identity
        self.banner = banner
        self.state = LOCAL
        self.reason = ""  # the server's sentence while unreachable
        self.info: LedgerInfo | None = None
        self.default_identity = declared_identity()  # else read by _read_default_identity
        self._reading_identity = False
        self._reaching = False
        self._generation = 0  # answers about the ledger before a switch are dropped
        self.label = QLabel()
        self.label.setAccessibleName("Ledger")
        status_bar.insertPermanentWidget(0, self.label)
        tasks.ledger_unreachable.connect(self.lost)

    @property
    def identity(self) -> str:
        """Who acts: the team server's word for your login, else the window's identity."""
        if self.db.team:
            return self.info.identity if self.info is not None else ""
        return self.local_identity() or self.default_identity

    @property
    def away(self) -> bool:
        return self.db.team and self.state != REACHABLE

    @property
    def ready(self) -> bool:
        """Work done as you (recovering interrupted work) may start: who you are is known."""
        return self.state == REACHABLE if self.db.team else bool(self.identity)

    def refusal(self, what: str) -> str | None:
        """The sentence refusing ``what`` (approving, deploying…) while the ledger is away,
        or while who you are is still being read."""
        if not self.db.team and not self.identity:
            return f"Still reading who you are (git's user.email): {what} waits a moment."
        if not self.away:
            return None
        if self.state == CONNECTING:
            return f"Still connecting to the team ledger: {what} waits until it answers."
        return (
            f"team ledger unreachable: {self.reason} {what.capitalize()} waits until it is "
            "back; nothing is queued on this machine."
        )

    def reach(self) -> None:
        """Connect (again) in a worker; the window shows "connecting" meanwhile."""
        if self._reaching:
            return
        self._reaching = True
        if self.db.team and self.state != UNREACHABLE:
            self.state = CONNECTING
        elif not self.db.team:
            self.state = LOCAL
            self._read_default_identity()
        self.show()
        generation = self._generation
        self.tasks.submit(
            reach_ledger,
            self.db,
            on_result=lambda info: self._reached(generation, info),
            on_error=lambda message, _details: self._failed(generation, message),
        )

    def _read_default_identity(self) -> None:
        if self.default_identity or self._reading_identity:
            return
        self._reading_identity = True
        self.tasks.submit(current_identity, on_result=self._default_identity_read)

    def _default_identity_read(self, name: str) -> None:
        self.default_identity = name
        self.show()
        self.changed.emit()

    def restart(self) -> None:
        """The window switched ledgers (connected to a team, or back to the local one)."""
        self._generation += 1
        self._reaching = False
        self.info = None
        self.state, self.reason = (CONNECTING if self.db.team else LOCAL), ""
        self.reach()

    def reached(self) -> None:
        """A look at the ledger succeeded (the store watcher's heartbeat)."""
        if self.db.team and self.state != REACHABLE:
            self.reach()  # who you are, where: read once it answers again

    def lost(self, message: str) -> None:
        if not self.db.team:
            return
        changed = self.state != UNREACHABLE or message != self.reason
        self.state, self.reason = UNREACHABLE, message
        if changed:
            self.show()
            self.changed.emit()

    def _reached(self, generation: int, info: LedgerInfo) -> None:
        if generation != self._generation:
            return
        self._reaching = False
        self.info = info
        self.state = REACHABLE if info.team else LOCAL
        self.reason = ""
        self.show()
        self.changed.emit()

    def _failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self._reaching = False
        if self.db.team:
            self.lost(message)
        else:
            self.label.setText(escape(message))

    def show(self) -> None:
        ok, failed = icon_html("status-succeeded", 12), icon_html("status-failed", 12)
        where = self.info.where if self.info is not None and self.info.team else "the team server"
        if self.state == LOCAL:
            text = f"Ledger: local · you are {escape(self.identity) or '…'}"
        elif self.state == CONNECTING:
            text = f"{icon_html('status-running', 12)} Team ledger: connecting…"
        elif self.state == REACHABLE:
            text = f"{ok} Team ledger {escape(where)}: reachable · you are {escape(self.identity)}"
        else:
            text = f"{failed} Team ledger {escape(where)}: unreachable"
        self.label.setText(text)
        self.label.setToolTip(self.reason)
        self.banner.setVisible(self.state == UNREACHABLE)
        if self.state == UNREACHABLE:
            self.banner.setText(
                f"{failed} <b>team ledger unreachable:</b> {escape(self.reason)} "
                "The window shows what it last read; approving, deploying and rolling back "
                "wait until the server is back."
            )
