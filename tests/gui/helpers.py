"""Finding widgets the way a user (or a screen reader) names them, and cleaning up."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import docker
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from dockyard.ui.mainwindow import MainWindow

W = TypeVar("W", bound=QWidget)


def named(root: QWidget, kind: type[W], name: str) -> W:
    """The one visible-or-not child of ``kind`` whose accessible name is ``name``."""
    found = [w for w in root.findChildren(kind) if w.accessibleName() == name]
    assert len(found) == 1, f"one {kind.__name__} named {name!r} expected, found {len(found)}"
    return found[0]


def save_screenshot(widget: QWidget, name: str) -> None:
    """With ``DOCKYARD_SCREENSHOTS`` set (a folder, e.g. docs/screenshots): save what the
    user sees there as ``name``; the docs show states that only a test reaches cheaply."""
    folder = os.environ.get("DOCKYARD_SCREENSHOTS")
    if folder:
        widget.grab().save(str(Path(folder) / name))


def remove_deployed(client: docker.DockerClient, location: str) -> None:
    """Remove what a run of ``location`` deployed (containers and services by label)."""
    label = f"dockyard.repo={location}"
    try:
        for service in client.services.list(filters={"label": label}):
            service.remove()
    except docker.errors.APIError:
        pass  # not a swarm manager: there are no services
    for container in client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)
    # Dockyard's own networks, once nothing uses them (service tasks stop asynchronously).
    deadline = time.monotonic() + 30
    while networks := _leftover_networks(client):
        for network in networks:
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)


def _leftover_networks(client: docker.DockerClient) -> list[docker.models.networks.Network]:
    return client.networks.list(filters={"label": "dockyard.managed=true"})


def ensure_swarm_gateway(client: docker.DockerClient) -> None:
    """Create ``docker_gwbridge`` as Docker documents it, before a test takes its snapshot.

    The daemon creates it for the first Swarm task with published ports and keeps it
    while the ingress sandbox lives: daemon infrastructure, not something a test leaks.
    """
    if client.networks.list(names=["docker_gwbridge"]):
        return
    client.networks.create(
        "docker_gwbridge",
        driver="bridge",
        options={
            "com.docker.network.bridge.name": "docker_gwbridge",
            "com.docker.network.bridge.enable_icc": "false",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
        },
    )


def shown_window(qtbot: QtBot) -> Iterator[MainWindow]:
    """A shown main window; afterwards waits for its runs and tasks to end."""
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main.repositories.loaded, timeout=10_000)
    yield main
    qtbot.waitUntil(lambda: not main.runs.busy(), timeout=120_000)
    main.tasks.wait(30_000)


def close_window(window: MainWindow) -> None:
    """Close ``window`` and wait until its ledger's connections are closed (closing does
    that in a worker, once the window's tasks have ended)."""
    window.tasks.wait(30_000)
    window.close()
    window.runs.tasks.wait(30_000)
    window.tasks.wait(30_000)
