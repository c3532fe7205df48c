"""Truth from the daemon: drift between the ledger and what runs, and Docker events.

The daemon is the source of truth for what runs (DESIGN principle 4): ``drift_of`` says
in a few words how it differs from Dockyard's record, and ``DockerEventWatcher`` tells
the app when to look again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dockyard.core.releases import Deployment
from dockyard.engine.deploy.labels import REPO
from dockyard.engine.deploy.spec import ConfigSnapshot, RunningRelease

if TYPE_CHECKING:
    import docker

log = logging.getLogger("dockyard.deploy")

STOPPED_STATES = ("exited", "dead", "created", "failed", "removing")


def drift_of(recorded: Deployment | None, running: list[RunningRelease]) -> str | None:
    """None when the daemon runs what Dockyard deployed; else a short phrase why not."""
    if recorded is None:
        return "runs although Dockyard never deployed here" if running else None
    if not running:
        return f"nothing runs; Dockyard deployed {_release(recorded)}"
    if len(running) > 1:
        return f"{len(running)} copies run"
    live = running[0]
    if live.digest != recorded.digest:
        return (
            f"runs {short_digest(live.digest)}, Dockyard deployed {short_digest(recorded.digest)}"
        )
    if live.restart_loop:
        return f"is in a restart loop: {live.restart_text() or 'it keeps restarting'}"
    if live.state in STOPPED_STATES:
        return f"is {live.state}; Dockyard deployed {_release(recorded)}"
    if live.stopped_services:
        names = ", ".join(live.stopped_services)
        verb = "does" if len(live.stopped_services) == 1 else "do"
        return f"its service {names} {verb} not run; Dockyard deployed {_release(recorded)}"
    if live.edited_services:
        return _edited(recorded, live.edited_services)
    expected = _fingerprint(recorded.config)
    if expected and live.config_fingerprint != expected:
        return "configuration changed outside Dockyard"
    return None


def short_digest(digest: str) -> str:
    if not digest:
        return "an unknown image"
    algorithm, _, value = digest.rpartition(":")
    return f"{algorithm}:{value[:12]}…" if algorithm else f"{value[:12]}…"


def _release(recorded: Deployment) -> str:
    return recorded.label or short_digest(recorded.digest)


def _edited(recorded: Deployment, services: tuple[str, ...]) -> str:
    """Dependents changed or removed since (by hand, or left by a failed release): which,
    and how to run the release as it was deployed again."""
    names = ", ".join(services)
    verb = "was" if len(services) == 1 else "were"
    return (
        f"its service {names} {verb} changed or removed since Dockyard deployed "
        f"{_release(recorded)}; put it back with: dockyard rollback {recorded.repo} "
        f"{recorded.environment} --to {recorded.id} --comment REASON"
    )


def _fingerprint(config: Mapping[str, Any]) -> str:
    if not config:
        return ""
    try:
        return ConfigSnapshot.from_json(config).fingerprint()
    except (KeyError, TypeError, ValueError):
        return ""


EventCallback = Callable[[dict[str, Any]], None]


class DockerEventWatcher:
    """Follows the daemon's events about Dockyard's objects on a thread of its own.

    ``client.events()`` never times out, so the stream is closed to stop it. ``close()``
    may be called from any thread and never waits (the UI thread calls it on shutdown):
    it shuts the stream's socket down, so the reader wakes at once, and once it returns no
    callback runs any more, nor will. The callbacks run under the watcher's lock, so keep
    them short. With ``owns_client`` the thread closes the client when it ends (closing an
    ssh tunnel waits for ssh: not a job for the caller's thread). The client should be
    one this watcher alone uses.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        on_event: EventCallback,
        *,
        on_error: Callable[[Exception], None] | None = None,
        filters: dict[str, Any] | None = None,
        owns_client: bool = False,
    ) -> None:
        self.client = client
        self.on_event = on_event
        self.on_error = on_error
        self.filters = filters if filters is not None else {"label": REPO}
        self.owns_client = owns_client
        self._lock = threading.RLock()  # a callback may close its own watcher
        self._stream: Any = None
        self._closed = False
        self._thread = threading.Thread(target=self._follow, name="dockyard-events", daemon=True)
        self.listening = threading.Event()  # set once the daemon accepted the subscription

    def start(self) -> DockerEventWatcher:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop without waiting; a subscription the daemon has not answered yet ends
        (quietly) when it answers or the connection drops."""
        with self._lock:
            self._closed = True
            stream = self._stream
        if stream is not None:
            _close_quietly(stream)  # shuts the socket down: no network wait

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the thread has ended (never from the UI thread); True if it has."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> DockerEventWatcher:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _follow(self) -> None:
        try:
            stream = self.client.events(decode=True, filters=self.filters)
            with self._lock:
                self._stream = stream
                closed = self._closed
            if closed:
                _close_quietly(stream)
                return
            self.listening.set()
            for event in _events(stream):
                if not self._deliver(self.on_event, event):
                    break
        except Exception as exc:  # noqa: BLE001 - reported, unless we closed the stream
            if not self._closed:
                log.warning("the Docker event stream ended: %s", exc)
                if self.on_error is not None:
                    self._deliver(self.on_error, exc)
        finally:
            if self.owns_client:
                _close_quietly(self.client)

    def _deliver(self, callback: Callable[[Any], None], value: Any) -> bool:
        """Calls ``callback`` unless closed (under the lock: close() returns only once no
        call is under way); False once closed."""
        with self._lock:
            if self._closed:
                return False
            try:
                callback(value)
            except Exception:  # a bad receiver must not end the watch
                log.exception("a Docker event receiver failed")
            return True


def _events(stream: Any) -> Iterator[dict[str, Any]]:
    yield from stream


def _close_quietly(closable: Any) -> None:
    try:
        closable.close()
    except Exception:  # closing a half-dead socket may fail; it is closed anyway
        log.debug("closing the Docker event stream or its client failed", exc_info=True)
