"""SVG icons from the package's ``resources/icons`` (crisp at any DPI).

Status icons are looked up by run/stage status name (``status-succeeded`` …). Every
symbol the window shows is one of these, never an emoji or a dingbat character: a stock
desktop's fonts may lack the glyph and paint a box instead.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

# Package data: the same place in a checkout, an installed wheel and the PyInstaller bundle.
ICON_FOLDER = Path(__file__).resolve().parents[1] / "resources" / "icons"

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
    "superseded": "status-superseded",
}


@cache
def icon_path(name: str) -> Path | None:
    """The SVG file of icon ``name`` (file stem); None when it is missing."""
    path = ICON_FOLDER / f"{name}.svg"
    return path if path.exists() else None


@cache
def icon(name: str) -> QIcon:
    """The icon ``name`` (file stem); an empty icon when it is missing."""
    path = icon_path(name)
    return QIcon(str(path)) if path is not None else QIcon()


def icon_html(name: str, size: int = 14) -> str:
    """Icon ``name`` as an ``<img>`` for a rich-text label, the height of a line of text."""
    path = icon_path(name)
    if path is None:
        return ""
    return (
        f'<img src="{path.as_uri()}" width="{size}" height="{size}" style="vertical-align: middle">'
    )


def status_icon(status: str) -> QIcon:
    return icon(STATUS_ICON.get(status, "status-pending"))
