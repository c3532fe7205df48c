"""A small weekly bar chart painted with QPainter.

Why QPainter and not a chart library: PySide6-Essentials has no QtCharts (it comes with
the much larger PySide6-Addons wheel), and pyqtgraph would bring numpy; a dozen bars per
chart need neither. Colours come from the widget's palette and ``theme.tones``, so the
chart follows light and dark mode; the numbers and their texts come from the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from dockyard.ui.theme import tones


@dataclass(frozen=True)
class Bar:
    label: str  # the week, as the axis shows it
    value: float | None  # None: not enough data that week
    tip: str  # what hovering says


class WeeklyChart(QWidget):
    """Bars per week; a week without enough data shows as a dashed outline."""

    MARGIN_LEFT = 8
    MARGIN_TOP = 24
    MARGIN_BOTTOM = 20

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.bars: list[Bar] = []
        self.top_text = ""
        self.setAccessibleName(f"{title} chart")
        self.setMouseTracking(True)
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(220, 160)

    def set_bars(self, bars: list[Bar], top_text: str) -> None:
        """``top_text`` labels the tallest bar (the engine's text for its value)."""
        self.bars = bars
        self.top_text = top_text
        self.update()

    def _plot(self) -> QRectF:
        return QRectF(
            self.MARGIN_LEFT,
            self.MARGIN_TOP,
            self.width() - 2 * self.MARGIN_LEFT,
            self.height() - self.MARGIN_TOP - self.MARGIN_BOTTOM,
        )

    def _bar_rects(self) -> list[QRectF]:
        plot = self._plot()
        if not self.bars:
            return []
        peak = max((b.value for b in self.bars if b.value is not None), default=0.0) or 1.0
        slot = plot.width() / len(self.bars)
        width = max(2.0, slot * 0.7)
        rects = []
        for position, bar in enumerate(self.bars):
            height = 0.0 if bar.value is None else max(2.0, plot.height() * bar.value / peak)
            left = plot.left() + position * slot + (slot - width) / 2
            rects.append(QRectF(left, plot.bottom() - height, width, height))
        return rects

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = QColor(tones(self).muted)
        plot = self._plot()
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(text)
        title = QRectF(0, 0, self.width(), self.MARGIN_TOP - 4)
        painter.drawText(
            title, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "Weekly"
        )
        font.setBold(False)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        if self.top_text:
            painter.setPen(muted)
            painter.drawText(
                title, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"highest {self.top_text}",
            )  # fmt: skip
        painter.setPen(QPen(muted, 1))
        painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        if not self.bars:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "no data")
            return
        fill = QColor(tones(self).running)
        for bar, rect in zip(self.bars, self._bar_rects(), strict=True):
            if bar.value is None:
                painter.setPen(QPen(muted, 1, Qt.PenStyle.DashLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(rect.left(), plot.bottom() - 6, rect.width(), 6))
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(fill)
                painter.drawRect(rect)
        painter.setPen(muted)
        axis = QRectF(plot.left(), plot.bottom() + 2, plot.width(), self.MARGIN_BOTTOM - 2)
        painter.drawText(axis, Qt.AlignmentFlag.AlignLeft, self.bars[0].label)
        if len(self.bars) > 1:
            painter.drawText(axis, Qt.AlignmentFlag.AlignRight, self.bars[-1].label)

    def bar_at(self, x: float) -> int | None:
        for position, rect in enumerate(self._bar_rects()):
            slot = self._plot().width() / len(self.bars)
            if rect.center().x() - slot / 2 <= x < rect.center().x() + slot / 2:
                return position
        return None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            position = self.bar_at(event.pos().x())
            if position is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.bars[position].tip, self)
            return True
        return super().event(event)
