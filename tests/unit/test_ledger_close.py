"""``DeferredLedger.close`` is final, also against a connection being made while it runs:
the ordering alone, with a fake team ledger whose connections are counted (the real
server's version is tests/gui/test_team_window_close.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.core.errors import LedgerClosed
from dockyard.engine import ledger_source
from dockyard.engine.home import TEAM_SETTINGS_FILE
from dockyard.engine.ledger_source import DeferredLedger
from dockyard.engine.team_changes import TeamChangeListener


class FakeConnection:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        server.open += 1

    def close(self) -> None:
        self.server.open -= 1


class FakeServer:
    """Counts open connections; ``hold`` makes the next logins wait for ``answer``."""

    def __init__(self) -> None:
        self.open = 0
        self.logins = 0
        self.hold = False
        self.connecting = threading.Event()
        self.answer = threading.Event()

    def login(self) -> FakeConnection:
        self.logins += 1
        if self.hold:
            self.connecting.set()
            assert self.answer.wait(10)
        return FakeConnection(self)


class FakeLedger:
    """A team ledger (``PgDatabase``'s part the window uses) on ``FakeServer``."""

    dialect = "postgres"
    read_only = False

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.connections = [FakeConnection(server)]  # the login check, as PgDatabase does

    def open_private(self, purpose: str = "") -> FakeConnection:
        return self.server.login()

    def wait_for_change(self, private: object, timeout: float) -> bool:
        threading.Event().wait(timeout)
        return False

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.connections = []


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    (tmp_path / TEAM_SETTINGS_FILE).write_text('{"url": "postgresql://dev@127.0.0.1/team"}')
    made = FakeServer()

    def open_ledger(_home: Path, _role: str = "") -> FakeLedger:
        made.login()  # what waits on the network
        made.open -= 1  # the login above stands for the ledger's own connection
        return FakeLedger(made)

    monkeypatch.setattr(ledger_source, "open_ledger", open_ledger)
    yield made
    made.answer.set()


def test_a_closed_ledger_opens_nothing(tmp_path: Path, server: FakeServer) -> None:
    db = DeferredLedger(tmp_path)
    db.opened()
    assert server.open == 1
    db.close()
    assert server.open == 0
    for use in (db.opened, db.open_private, db.connect):
        with pytest.raises(LedgerClosed):
            use()
    assert server.logins == 1 and server.open == 0


def _closed_while_connecting(
    db: DeferredLedger, server: FakeServer, use: Callable[[], object]
) -> int:
    """``use()`` in a thread, ``db.close()`` while its login waits for the server; the
    number of ``LedgerClosed`` it met."""
    server.hold = True
    failures: list[LedgerClosed] = []

    def run() -> None:
        try:
            use()
        except LedgerClosed as exc:
            failures.append(exc)

    opener = threading.Thread(target=run)
    opener.start()
    assert server.connecting.wait(5)
    db.close()  # does not wait for the login on its way
    server.answer.set()
    opener.join(5)
    return len(failures)


def test_a_ledger_being_opened_when_closed_is_closed_once_made(
    tmp_path: Path, server: FakeServer
) -> None:
    db = DeferredLedger(tmp_path)
    assert _closed_while_connecting(db, server, db.opened) == 1
    assert server.open == 0


def test_a_private_connection_made_while_closing_is_closed_at_once(
    tmp_path: Path, server: FakeServer
) -> None:
    db = DeferredLedger(tmp_path)
    db.opened()
    assert _closed_while_connecting(db, server, db.open_private) == 1
    assert server.open == 0


def test_the_listener_ends_quietly_when_its_ledger_is_closed(
    tmp_path: Path, server: FakeServer
) -> None:
    db = DeferredLedger(tmp_path)
    woken: list[None] = []
    listener = TeamChangeListener(db, lambda: woken.append(None))
    listener.start()
    thread = listener._thread
    assert thread is not None
    deadline = time.monotonic() + 30
    while server.open < 2:  # the ledger's connection and the listener's own
        assert time.monotonic() < deadline, "the listener never listened"
        time.sleep(0.01)
    db.close()  # the window closed its ledger (without stopping the listener first)
    thread.join(30)
    assert not thread.is_alive()
    assert server.open == 0
    assert woken == []
