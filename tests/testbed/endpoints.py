"""This machine's endpoint settings as the local database holds them (names, URLs, file
paths), in the shape ``hosts.json`` had: name -> its non-empty settings."""

from __future__ import annotations

from pathlib import Path

from dockyard.store.database import machine_database
from dockyard.store.machine import MachineSettings


def saved_endpoints(home: Path) -> dict[str, dict[str, str]]:
    # Through the store, so that a window's worker creating the file meanwhile is waited for.
    with machine_database(home) as db:
        return MachineSettings(db).endpoints()
