"""Paints a log line's ANSI segments in colour, on a monospace grid.

Only the characters inside the visible part of the row are drawn, so a 100,000-character
line costs no more to paint than a short one.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRect, QSize
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from dockyard.ui.logview.ansi import Colour, expand_tabs, xterm_rgb
from dockyard.ui.logview.model import LogModel

# The 16 basic colours, tuned per theme for contrast (after VS Code's terminal themes):
# yellow and white are darker on light backgrounds, black is lighter on dark ones.
_DARK_THEME = (
    "#6e6e6e", "#f14c4c", "#23d18b", "#e5e510", "#3b8eea", "#d670d6", "#29b8db", "#e5e5e5",
    "#8a8a8a", "#ff6b6b", "#3ee8a0", "#f5f543", "#6aa9f5", "#e68ee6", "#4fd0f0", "#ffffff",
)  # fmt: skip
_LIGHT_THEME = (
    "#000000", "#cd3131", "#00870a", "#8a7500", "#0451a5", "#bc05bc", "#0a7f9c", "#5a5a5a",
    "#666666", "#d6362e", "#14a314", "#9c8f00", "#1a66c8", "#c330c3", "#0598bc", "#7a7a7a",
)  # fmt: skip
# Background colours are painted as given: the program chose a foreground to match.
_BACKGROUND = (
    "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
    "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
)  # fmt: skip
_PADDING = 4


def monospace_font() -> QFont:
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    font.setFixedPitch(True)
    return font


@lru_cache(maxsize=1024)
def _colour(value: int | tuple[int, int, int], dark: bool, background: bool) -> QColor:
    if isinstance(value, tuple):
        return QColor(*value)
    if value < 16:
        table = _BACKGROUND if background else (_DARK_THEME if dark else _LIGHT_THEME)
        return QColor(table[value])
    return QColor(*xterm_rgb(value))


class AnsiLineDelegate(QStyledItemDelegate):
    """Draws one line; every character advances by the same width (monospace grid)."""

    def __init__(self, view: QAbstractItemView, model: LogModel) -> None:
        super().__init__(view)
        self._view = view
        self._model = model
        self.set_font(view.font())

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        self._bold = QFont(font)
        self._bold.setBold(True)
        metrics = QFontMetricsF(font)
        self.char_width = metrics.horizontalAdvance("M")
        self.line_height = int(metrics.height()) + 2
        self._ascent = metrics.ascent()

    def width_for(self, chars: int) -> int:
        return int(chars * self.char_width) + 2 * _PADDING

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(self.width_for(80), self.line_height)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        # No initStyleOption()/drawControl() here: with PySide6 6.12 on Python 3.11, a
        # Python->C++->Python data() round trip returning None leaks a reference to None
        # per call, and painting would crash the interpreter after a while.
        segments = self._model.segments(index.row())
        rect: QRect = option.rect
        palette: QPalette = option.palette
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        if selected:
            group = (
                QPalette.ColorGroup.Active
                if state & QStyle.StateFlag.State_Active
                else QPalette.ColorGroup.Inactive
            )
            painter.fillRect(rect, palette.color(group, QPalette.ColorRole.Highlight))

        visible = rect.intersected(self._view.viewport().rect())
        if visible.isEmpty() or not segments:
            return
        dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
        default_fg = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        origin = rect.left() + _PADDING
        first_col = max(0, int((visible.left() - origin) / self.char_width))
        last_col = int((visible.right() - origin) / self.char_width) + 1
        baseline = rect.top() + (rect.height() - self.line_height) / 2 + 1 + self._ascent

        painter.save()
        column = 0
        for text, fg, bg, bold in expand_tabs(segments):
            end = column + len(text)
            if end > first_col and column <= last_col:
                lo, hi = max(column, first_col), min(end, last_col + 1)
                x = origin + lo * self.char_width
                if bg is not None and not selected:
                    width = (hi - lo) * self.char_width
                    painter.fillRect(
                        QRect(int(x), rect.top(), int(width + 1), rect.height()),
                        _colour(bg, dark, True),
                    )
                painter.setFont(self._bold if bold else self._font)
                painter.setPen(self._foreground(fg, bg, dark, selected, default_fg))
                painter.drawText(QPointF(x, baseline), text[lo - column : hi - column])
            column = end
            if column > last_col:
                break
        painter.restore()

    @staticmethod
    def _foreground(fg: Colour, bg: Colour, dark: bool, selected: bool, default: QColor) -> QColor:
        # Selected rows use the highlight text colour so the selection stays readable.
        if fg is None or selected:
            return default
        # On a background the program chose, its colours are meant as given, not themed.
        return _colour(fg, dark, bg is not None)
