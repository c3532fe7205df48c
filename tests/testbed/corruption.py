"""Real damage to a real database file: bytes of one table's page overwritten on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def damage_a_page(path: Path, table: str = "repositories") -> None:
    """Overwrite the b-tree header of ``table``'s root page (the file must be closed)."""
    with sqlite3.connect(path) as connection:
        page_size = int(connection.execute("PRAGMA page_size").fetchone()[0])
        root = int(
            connection.execute(
                "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()[0]
        )
    connection.close()
    offset = (root - 1) * page_size + (100 if root == 1 else 0)
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(b"\x0d\xff\xff\xff\xff\x00\x00\x00")  # a leaf with 65535 cells it lacks
