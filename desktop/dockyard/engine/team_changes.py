"""Team mode: another machine's change, told the moment the server hears of it.

The team schema's triggers NOTIFY on every commit. A thread of its own holds one
connection that LISTENs and waits on it (psycopg's ``notifies`` with a short timeout, so
that it can be stopped); each notification calls ``on_change``: the window's one "the
ledger changed" entry point, which looks at the ledger and re-reads what changed. A
connection that is lost or comes back calls it too (the look then says "unreachable", or
"back" and reads everything afresh); while the server is away it tries again every
second. Nothing here reads or records: it only wakes the one who does. Once the window
closed its ledger (``DeferredLedger.close``) the listener lets go and connects no more,
even if it was between two tries of an outage then.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from dockyard.core.errors import DockyardError, LedgerClosed
from dockyard.engine.ledger_source import DeferredLedger
from dockyard.store.sql import SqlConnection

log = logging.getLogger("dockyard.team")

WAIT_SECONDS = 0.5  # how long one wait for a notification lasts: the stop's latency
RETRY_SECONDS = 1.0  # while the server is away


@runtime_checkable
class Notifying(Protocol):
    """A ledger whose server tells of changes (``store.pg.PgDatabase``; imported by name
    only in team mode, as psycopg takes half a second to import)."""

    def open_private(self, purpose: str = "") -> SqlConnection: ...
    def wait_for_change(self, private: SqlConnection, timeout: float) -> bool: ...


class TeamChangeListener:
    """Calls ``on_change`` (from its own thread) whenever the team ledger changes."""

    def __init__(self, db: DeferredLedger, on_change: Callable[[], None]) -> None:
        self._db = db
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Listen, in team mode (the local ledger has no server to listen to)."""
        if not self._db.team or self.running:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._listen, args=(self._stop,), name="team-changes", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (without waiting: the thread lets go of its connection within a
        wait's length, and calls nobody after this)."""
        self._stop.set()
        self._thread = None

    def restart(self) -> None:
        """The window switched ledgers: listen to the one the home names now."""
        self.stop()
        self.start()

    def _listen(self, stop: threading.Event) -> None:
        lost = False
        while not stop.is_set():
            connection: SqlConnection | None = None
            try:
                ledger = self._db.opened()
                if not isinstance(ledger, Notifying):
                    return  # the local ledger: the window's timed look is all there is
                connection = self._db.open_private("listening")  # none once it is closed
                ledger.wait_for_change(connection, 0)  # listening from now on
                if lost:
                    lost = False
                    self._tell(stop)  # back: anything may have happened meanwhile
                while not stop.is_set() and not self._db.closed:
                    if ledger.wait_for_change(connection, WAIT_SECONDS):
                        self._tell(stop)
            except LedgerClosed:
                return  # the window closed its ledger: nobody is left to wake
            except DockyardError as exc:
                if not lost:
                    log.info("team ledger notifications paused: %s", exc.message)
                lost = True
                self._tell(stop)  # the look says so, and tries again
                stop.wait(RETRY_SECONDS)
            except Exception:  # a listener must never die of a surprise
                log.exception("team ledger notifications failed; trying again")
                lost = True
                stop.wait(RETRY_SECONDS)
            finally:
                if connection is not None:
                    # A broken connection may fail to close; it is gone anyway.
                    with contextlib.suppress(Exception):
                        connection.close()

    def _tell(self, stop: threading.Event) -> None:
        if stop.is_set():
            return  # stopped: the window may be gone
        try:
            self._on_change()
        except RuntimeError:  # whoever listened is gone (a window deleted unclosed)
            stop.set()
