"""Small helpers for widgets that views rebuild."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def discard(widget: QWidget) -> None:
    """Takes a widget out of the window now and deletes it soon.

    ``deleteLater`` alone leaves it a (visible) child until the event loop comes round, so
    for a moment the old and the new card are both there.
    """
    widget.hide()
    widget.setParent(None)
    widget.deleteLater()
