"""A list model over a stage log file, cheap to scroll at a million lines.

The engine writes the file; a worker indexes it (``follower.LogFollower``) and this model
shows the indexed lines. Lines are read on demand in blocks kept in a small LRU cache, so
only what is on screen (and near it) is ever decoded.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from dockyard.store.logs import StageLogReader
from dockyard.ui.logview.ansi import Segment, parse_ansi, strip_ansi

SEGMENTS_ROLE = Qt.ItemDataRole.UserRole + 1  # list[Segment] of the line
RAW_TEXT_ROLE = Qt.ItemDataRole.UserRole + 2  # the line with its escape codes

BLOCK_LINES = 512
CACHED_BLOCKS = 64

_ModelIndex = QModelIndex | QPersistentModelIndex


class LogModel(QAbstractListModel):
    """One row per complete line of the log file; rows are only ever appended."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._reader: StageLogReader | None = None
        self._rows = 0
        self._blocks: OrderedDict[int, list[str]] = OrderedDict()
        self._segments: OrderedDict[int, list[Segment]] = OrderedDict()

    @property
    def reader(self) -> StageLogReader | None:
        return self._reader

    def path(self) -> Path | None:
        return self._reader.path if self._reader is not None else None

    def set_log(self, path: Path | None) -> None:
        """Shows another log; nothing is read here, the follower indexes it in slices."""
        self.beginResetModel()
        self._reader = StageLogReader(path) if path is not None else None
        self._rows = 0
        self._blocks.clear()
        self._segments.clear()
        self.endResetModel()

    def show_lines(self, count: int) -> None:
        """Shows the first ``count`` lines, as indexed by the reader (in a worker)."""
        if count < self._rows:  # the file was truncated or replaced: show it from scratch
            self.beginResetModel()
            self._rows = 0
            self._blocks.clear()
            self._segments.clear()
            self.endResetModel()
        if count > self._rows:
            # The cached last block may have been partial; its lines are complete now.
            self._blocks.pop(self._rows // BLOCK_LINES, None)
            self.beginInsertRows(QModelIndex(), self._rows, count - 1)
            self._rows = count
            self.endInsertRows()

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return strip_ansi(self.raw_line(row))
        if role == SEGMENTS_ROLE:
            return self.segments(row)
        if role == RAW_TEXT_ROLE:
            return self.raw_line(row)
        return None

    def raw_line(self, row: int) -> str:
        """The line as written, escape codes included ("" outside the model)."""
        if not 0 <= row < self._rows or self._reader is None:
            return ""
        number, offset = divmod(row, BLOCK_LINES)
        block = self._blocks.get(number)
        if block is None or offset >= len(block):
            block = self._reader.lines(number * BLOCK_LINES, BLOCK_LINES)
            self._blocks[number] = block
            if len(self._blocks) > CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(number)
        return block[offset] if offset < len(block) else ""

    def segments(self, row: int) -> list[Segment]:
        cached = self._segments.get(row)
        if cached is None:
            cached = parse_ansi(self.raw_line(row))
            self._segments[row] = cached
            if len(self._segments) > BLOCK_LINES * 4:
                self._segments.popitem(last=False)
        return cached

    def max_line_chars(self) -> int:
        """An upper bound of the longest line's length (bytes, so escapes count too)."""
        return self._reader.max_line_bytes() if self._reader is not None else 0
