"""Docker events while the window runs: what changed on a daemon reaches the views.

One ``DockerEventWatcher`` per endpoint, each on its own thread with its own client
(opened in a worker: connecting may take seconds). Events about Dockyard's objects
(containers and services labelled ``dockyard.repo``) cross to the UI thread as a
signal and are gathered for a moment, so a deployment that starts, stops and replaces
several containers refreshes a view once. A stream that breaks marks its endpoint
unreachable, with the reason, and is opened again later. ``close()`` (UI thread, on
shutdown) closes every stream without waiting: the watchers' threads wake at once, close
their clients themselves, and signal nothing once it has returned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from dockyard.engine.endpoints.record import Endpoint
from dockyard.ui.endpointcalls import list_endpoints
from dockyard.ui.worker import TaskRunner

if TYPE_CHECKING:  # the deploy engine (and the Docker SDK) is imported by the workers
    from dockyard.engine.deploy import DockerEventWatcher

DEBOUNCE_MS = 400
RECONNECT_MS = (2_000, 5_000, 15_000, 60_000)  # waits before opening a broken stream again


class _Watches:
    """The open watchers by endpoint name; shared by the UI thread and the opening tasks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.closed = False
        self.open: dict[str, DockerEventWatcher] = {}

    def close_one(self, name: str) -> None:
        """Never waits: the watcher's thread closes its client (an ssh tunnel waits for ssh)."""
        with self.lock:
            watcher = self.open.pop(name, None)
        if watcher is not None:
            watcher.close()


class DockerEventBridge(QObject):
    """Turns the daemons' events into ``repositories_changed`` (debounced)."""

    repositories_changed = Signal(object)  # set[str] of repository locations
    endpoint_failed = Signal(str, str)  # endpoint name, one sentence
    endpoint_listening = Signal(str)  # endpoint name
    _event = Signal(str, str)  # endpoint name, repository location (from a watcher thread)
    _broken = Signal(str, str)  # endpoint name, reason (from a watcher thread)

    def __init__(self, tasks: TaskRunner, home: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.home = home
        self.watches = _Watches()
        self.changed: set[str] = set()
        self.failures: dict[str, int] = {}
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self._flush)
        self.endpoints: dict[str, Endpoint] = {}
        self._event.connect(self._received)
        self._broken.connect(self._stream_broke)

    # ----- starting ------------------------------------------------------------------

    def start(self) -> None:
        """Watches every configured endpoint (reading the list is a worker's job)."""
        self.tasks.submit(
            list_endpoints,
            self.home,
            on_result=self._watch_all,
            on_error=lambda message, _d: self.endpoint_failed.emit("local", message),
        )

    def listening(self) -> list[str]:
        with self.watches.lock:
            return sorted(self.watches.open)

    def _watch_all(self, endpoints: list[Endpoint]) -> None:
        for endpoint in endpoints:
            self.watch(endpoint)

    def watch(self, endpoint: Endpoint) -> None:
        if self.watches.closed:
            return
        name = endpoint.name
        self.endpoints[name] = endpoint
        self.watches.close_one(name)
        self.tasks.submit(
            _open_watcher,
            endpoint,
            self.watches,
            self._event.emit,
            self._broken.emit,
            on_result=lambda _r: self._listening(endpoint),
            on_error=lambda message, _d: self._failed(endpoint, message),
            abandon_at_exit=True,  # connecting may take 10 s to give up
        )

    def _listening(self, endpoint: Endpoint) -> None:
        self.failures.pop(endpoint.name, None)
        self.endpoint_listening.emit(endpoint.name)

    def _failed(self, endpoint: Endpoint, message: str) -> None:
        if self.watches.closed:
            return
        self.endpoint_failed.emit(endpoint.name, message)
        attempt = self.failures.get(endpoint.name, 0)
        self.failures[endpoint.name] = attempt + 1
        # Tied to self: never fires after the window is gone; watch() ignores it once closed.
        delay = RECONNECT_MS[min(attempt, len(RECONNECT_MS) - 1)]
        QTimer.singleShot(delay, self, lambda: self.watch(endpoint))

    # ----- events --------------------------------------------------------------------

    def _received(self, _endpoint: str, repo: str) -> None:
        self.changed.add(repo)
        if not self.debounce.isActive():
            self.debounce.start()

    def _flush(self) -> None:
        changed, self.changed = self.changed, set()
        if changed:
            self.repositories_changed.emit(changed)

    def _stream_broke(self, name: str, reason: str) -> None:
        if self.watches.closed:
            return
        self.watches.close_one(name)
        message = f"The Docker event stream of {name} broke ({reason}); reconnecting."
        self._failed(self.endpoints.get(name, Endpoint(name=name)), message)

    # ----- shutdown ------------------------------------------------------------------

    def close(self) -> None:
        """Closes every stream without waiting (their threads close the clients); call
        from the UI thread on shutdown. Once it returns no watcher signals anything."""
        with self.watches.lock:
            self.watches.closed = True
            names = list(self.watches.open)
        self.debounce.stop()
        for name in names:
            self.watches.close_one(name)


def _open_watcher(
    endpoint: Endpoint,
    watches: _Watches,
    on_event: Callable[[str, str], None],
    on_broken: Callable[[str, str], None],
) -> str:
    """Runs in a worker: connect, subscribe, and register the watcher (or undo it if the
    window closed meanwhile)."""
    from dockyard.engine.deploy import DockerEventWatcher
    from dockyard.engine.deploy.labels import REPO
    from dockyard.engine.endpoints.client import open_client

    client = open_client(endpoint)
    name = endpoint.name

    def received(event: dict[str, Any]) -> None:
        # Only the repository an event is about (its dockyard.repo label) crosses threads.
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        if attributes.get(REPO):
            on_event(name, str(attributes[REPO]))

    watcher = DockerEventWatcher(
        client,
        received,
        on_error=lambda exc: on_broken(name, str(exc) or type(exc).__name__),
        owns_client=True,
    )
    with watches.lock:
        if not watches.closed:
            watches.open[name] = watcher
            watcher.start()
            return name
    client.close()
    return name
