"""SVG icons from ``resources/icons`` (crisp at any DPI), with a colour fallback.

Status icons are looked up by run/stage status name (``status-succeeded`` …).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

_ICON_FOLDERS = (
    Path(__file__).resolve().parents[3] / "resources" / "icons",  # source checkout
    Path(__file__).resolve().parent / "resources" / "icons",  # bundled with the package
)

STATUS_ICON = {
    "succeeded": "status-succeeded",
    "failed": "status-failed",
    "running": "status-running",
    "queued": "status-pending",
    "pending": "status-pending",
    "cancelled": "status-cancelled",
    "skipped": "status-cancelled",
    "interrupted": "status-cancelled",
    "awaiting_approval": "status-awaiting",
}


@cache
def icon(name: str) -> QIcon:
    """The icon ``name`` (file stem); an empty icon when it is missing."""
    for folder in _ICON_FOLDERS:
        path = folder / f"{name}.svg"
        if path.exists():
            return QIcon(str(path))
    return QIcon()


def status_icon(status: str) -> QIcon:
    return icon(STATUS_ICON.get(status, "status-pending"))
