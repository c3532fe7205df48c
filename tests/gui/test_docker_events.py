"""Docker events while the window runs: views refresh, broken endpoints are shown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import docker
import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, open_window

from dockyard.engine.endpoints.registry import Endpoint, EndpointRegistry
from dockyard.ui import messages
from dockyard.ui.dockerevents import DockerEventBridge
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.worker import TaskRunner
from testbed.dockerd import PrivateDaemon
from testbed.slowdaemon import HeldEventsRelay, SilentServer

pytestmark = [pytest.mark.gui, pytest.mark.docker]

REPO = "/srv/events-test/shop"


def labelled_container(client: docker.DockerClient) -> docker.models.containers.Container:
    return client.containers.create("busybox:stable", ["true"], labels={"dockyard.repo": REPO})


def test_a_labelled_container_reports_its_repository_once(
    qtbot: QtBot,
    docker_daemon: PrivateDaemon,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
) -> None:
    tasks = TaskRunner(on_error=messages.error)
    bridge = DockerEventBridge(tasks, dockyard_home)
    bridge.start()
    qtbot.waitUntil(lambda: bridge.listening() == ["local"], timeout=20_000)
    received: list[set[str]] = []
    bridge.repositories_changed.connect(received.append)
    container = labelled_container(docker_client)
    try:
        container.start()
        container.wait(timeout=20)
    finally:
        container.remove(force=True)
    # create, start, die, destroy…: gathered into one refresh.
    qtbot.waitUntil(lambda: received == [{REPO}], timeout=30_000)
    qtbot.wait(600)
    assert received == [{REPO}]
    bridge.close()
    assert bridge.listening() == []
    tasks.wait(10_000)


def test_the_window_refreshes_and_marks_a_broken_endpoint(
    qtbot: QtBot,
    docker_daemon: PrivateDaemon,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
) -> None:
    EndpointRegistry(dockyard_home).add(
        Endpoint(name="nowhere", url="unix:///nonexistent/dockyard/docker.sock")
    )
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    try:
        events = window.docker_events
        qtbot.waitUntil(lambda: events.listening() == ["local"], timeout=20_000)
        # The badge appears with the first status check, which runs in a worker.
        qtbot.waitUntil(lambda: "nowhere" in window.endpoint_status.labels, timeout=20_000)
        badge = named(window, QLabel, "Endpoint nowhere")
        qtbot.waitUntil(lambda: "nowhere: unreachable" in badge.text(), timeout=20_000)
        assert badge.toolTip()  # the reason, on hover
        qtbot.waitUntil(
            lambda: "local: connected" in named(window, QLabel, "Endpoint local").text(),
            timeout=20_000,
        )

        # The Overview is shown: a change on the daemon reads it again, without a click.
        window.tabs.setCurrentWidget(window.overview_view)
        window.right.setCurrentWidget(window.repository_page)
        overview = window.overview_view
        qtbot.waitUntil(lambda: overview.state is not None and not overview.loading, timeout=20_000)
        before = overview._generation
        with qtbot.waitSignal(events.repositories_changed, timeout=30_000) as changed:
            labelled_container(docker_client).remove(force=True)
        assert changed.args == [{REPO}]
        assert overview._generation == before + 1
    finally:
        window.close()
        assert window.docker_events.listening() == []
        window.tasks.wait(20_000)


# Closing is not a benchmark: it must not wait on a daemon at all. 0.5 s is far above a
# close that waits for nothing (milliseconds, even on a loaded machine) and far below the
# 2 s the window used to wait for each event stream the daemon had not answered yet.
CLOSES_AT_ONCE_S = 0.5


def _closing_time(window: MainWindow) -> float:
    started = time.monotonic()
    window.close()
    return time.monotonic() - started


def _event_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dockyard-events" and t.is_alive()]


def test_closing_the_window_does_not_wait_for_a_daemons_event_stream(
    qtbot: QtBot, docker_daemon: PrivateDaemon, dockyard_home: Path
) -> None:
    relay = HeldEventsRelay(docker_daemon.url.removeprefix("unix://"))
    EndpointRegistry(dockyard_home).add(Endpoint(name="far", url=relay.url))
    errors: list[str] = []
    messages.bus.error.connect(lambda message, _details: errors.append(message))
    window = open_window(qtbot)
    try:
        events = window.docker_events
        qtbot.waitUntil(lambda: events.listening() == ["far", "local"], timeout=20_000)
        assert relay.subscribed.wait(20)  # far's stream waits for the daemon's answer

        elapsed = _closing_time(window)

        assert not window.isVisible()
        assert elapsed < CLOSES_AT_ONCE_S, f"closing the window took {elapsed:.2f} s"
        assert events.listening() == []
    finally:
        relay.close()
    # The link drops: the stream's thread ends on its own, closing its client, unheard.
    qtbot.waitUntil(lambda: _event_threads() == [], timeout=30_000)
    window.tasks.wait(20_000)
    qtbot.wait(100)  # anything posted back has been delivered by now
    assert errors == []


def test_an_endpoint_that_never_answers_does_not_hold_the_closing_window(
    qtbot: QtBot, docker_daemon: PrivateDaemon, dockyard_home: Path
) -> None:
    silent = SilentServer()
    EndpointRegistry(dockyard_home).add(Endpoint(name="hung", url=silent.url))
    errors: list[str] = []
    messages.bus.error.connect(lambda message, _details: errors.append(message))
    window = open_window(qtbot)
    try:
        qtbot.waitUntil(lambda: window.docker_events.listening() == ["local"], timeout=20_000)
        # The badge's check and the event stream both wait on "hung" (10 s to give up).
        qtbot.waitUntil(lambda: len(silent.connections) >= 2, timeout=20_000)

        elapsed = _closing_time(window)

        assert not window.isVisible()
        assert elapsed < CLOSES_AT_ONCE_S, f"closing the window took {elapsed:.2f} s"
    finally:
        silent.close()
    # The waiting calls fail now, and tell no one: the window is gone.
    assert window.tasks.wait(20_000)
    qtbot.waitUntil(lambda: _event_threads() == [], timeout=30_000)
    qtbot.wait(100)
    assert errors == []
