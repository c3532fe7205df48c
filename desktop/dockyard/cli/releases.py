"""``dockyard status``, ``approve``, ``reject``, ``rollback``, ``unpin``, ``audit verify``."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Release commands arrive with the release engine."""
