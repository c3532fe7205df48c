"""The live stage log view (Qt); `ansi` alone is importable without Qt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.ui.logview.view import LogView

__all__ = ["LogView"]


def __getattr__(name: str) -> Any:
    # Lazy, so `dockyard.ui.logview.ansi` can be imported (and tested) without Qt.
    if name == "LogView":
        from dockyard.ui.logview.view import LogView

        return LogView
    raise AttributeError(name)
