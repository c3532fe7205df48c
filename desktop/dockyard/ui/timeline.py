"""The release timeline: one lane per environment, one mark per deployment.

Marks differ in colour and shape (release: filled circle, rollback: diamond, failed:
cross), so they read without colour too. Hovering shows tag, digest, approvers and who
deployed of every mark under the pointer (deployments minutes apart overlap); clicking
asks the window to open the run of the mark on top, the newest (``run_requested``).
Positions are worked out once per resize, so thousands of marks paint at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from dockyard.engine.insights.measures import Period
from dockyard.ui.runsmodel import format_moment
from dockyard.ui.theme import tones

if TYPE_CHECKING:
    from dockyard.engine.insights.report import TimelineMark

LANE_LABELS = 110
RADIUS = 5.0
HIT = 8.0
LANE_STEP = 56.0
TIPPED = 4  # overlapping marks described in one tooltip
LEGEND = (("release", "release"), ("rollback", "rollback"), ("failed", "failed"))


def mark_tip(mark: TimelineMark) -> str:
    approved = ", ".join(mark.approved_by) or "no approval needed"
    return "\n".join(
        [
            f"{mark.label} in {mark.environment} — {mark.kind} ({mark.status})",
            f"digest {mark.digest}",
            f"commit {mark.commit[:12]}",
            f"approved by {approved}",
            f"deployed by {mark.deployed_by}, {format_moment(mark.at)}",
            "click to open its run" if mark.run_id else "no run recorded",
        ]
    )


class ReleaseTimeline(QWidget):
    run_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Release timeline")
        self.setMouseTracking(True)
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.lanes: tuple[str, ...] = ()
        self.marks: tuple[TimelineMark, ...] = ()
        self.period: Period | None = None
        self.points: list[QPointF] = []
        self.hovered: TimelineMark | None = None

    def sizeHint(self) -> QSize:
        return QSize(800, int(44 + LANE_STEP * max(2, len(self.lanes))))

    def set_timeline(
        self, lanes: Sequence[str], marks: Sequence[TimelineMark], period: Period
    ) -> None:
        self.lanes, self.marks, self.period = tuple(lanes), tuple(marks), period
        self.hovered = None
        self.updateGeometry()  # the height follows the number of lanes
        self._place()
        self.update()

    def _area(self) -> QRectF:
        return QRectF(LANE_LABELS, 22, self.width() - LANE_LABELS - 12, self.height() - 44)

    def _lane_y(self, lane: int) -> float:
        area = self._area()
        step = min(LANE_STEP, area.height() / max(1, len(self.lanes)))
        return area.top() + step * (lane + 0.5)

    def _place(self) -> None:
        self.points = []
        if self.period is None:
            return
        area = self._area()
        seconds = self.period.length.total_seconds()
        lane_of = {name: position for position, name in enumerate(self.lanes)}
        for mark in self.marks:
            share = (mark.at - self.period.start).total_seconds() / seconds
            lane = lane_of.get(mark.environment, 0)
            self.points.append(QPointF(area.left() + share * area.width(), self._lane_y(lane)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place()

    def marks_at(self, point: QPointF) -> list[TimelineMark]:
        """The marks within reach of ``point``, the one painted on top (the newest) first."""
        near = []
        for mark, centre in zip(self.marks, self.points, strict=True):
            dx, dy = centre.x() - point.x(), centre.y() - point.y()
            if dx * dx + dy * dy <= HIT * HIT:
                near.append(mark)
        return near[::-1]

    def mark_at(self, point: QPointF) -> TimelineMark | None:
        near = self.marks_at(point)
        return near[0] if near else None

    def tip_at(self, point: QPointF) -> str:
        """What hovering says: every mark there (deployments minutes apart overlap)."""
        near = self.marks_at(point)
        tips = [mark_tip(mark) for mark in near[:TIPPED]]
        if len(near) > TIPPED:
            tips.append(f"… and {len(near) - TIPPED} more deployments here")
        return "\n\n".join(tips)

    def point_of(self, mark: TimelineMark) -> QPointF:
        return self.points[self.marks.index(mark)]

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        tone = tones(self)
        muted = QColor(tone.muted)
        area = self._area()
        painter.setPen(text)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(0, 0, 300, 18), "Release timeline")
        font.setBold(False)
        painter.setFont(font)
        self._legend(painter, tone.ok, tone.attention, tone.error, text)
        if self.period is None or not self.lanes:
            painter.setPen(muted)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "No deployments in this period")
            return
        for lane, name in enumerate(self.lanes):
            y = self._lane_y(lane)
            painter.setPen(text)
            painter.drawText(
                QRectF(0, y - 10, LANE_LABELS - 10, 20),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                name,
            )
            painter.setPen(QPen(muted, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        self._axis(painter, area, muted)
        colours = {"release": QColor(tone.ok), "rollback": QColor(tone.attention)}
        failed = QColor(tone.error)
        for mark, centre in zip(self.marks, self.points, strict=True):
            _draw_mark(painter, mark.kind, centre, colours.get(mark.kind, failed))
        if self.hovered is not None and self.hovered in self.marks:
            painter.setPen(QPen(text, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self.point_of(self.hovered), RADIUS + 3, RADIUS + 3)

    def _axis(self, painter: QPainter, area: QRectF, muted: QColor) -> None:
        assert self.period is not None
        ticks = 6
        painter.setPen(muted)
        bottom = self._lane_y(len(self.lanes) - 1) + LANE_STEP / 2
        area = QRectF(area.left(), area.top(), area.width(), bottom - area.top())
        for tick in range(ticks + 1):
            moment = self.period.start + self.period.length * (tick / ticks)
            x = area.left() + area.width() * tick / ticks
            painter.drawLine(QPointF(x, area.bottom() + 2), QPointF(x, area.bottom() + 6))
            align = Qt.AlignmentFlag.AlignHCenter
            box = QRectF(x - 50, area.bottom() + 6, 100, 16)
            if tick == 0:
                align, box = Qt.AlignmentFlag.AlignLeft, QRectF(x, area.bottom() + 6, 100, 16)
            elif tick == ticks:
                align = Qt.AlignmentFlag.AlignRight
                box = QRectF(x - 100, area.bottom() + 6, 100, 16)
            fmt = "%d %b %H:%M" if self.period.length <= timedelta(days=2) else "%d %b"
            painter.drawText(box, align, moment.astimezone().strftime(fmt))

    def _legend(self, painter: QPainter, ok: str, rollback: str, bad: str, text: QColor) -> None:
        x = self.width() - 250.0
        for (kind, label), colour in zip(LEGEND, (ok, rollback, bad), strict=True):
            _draw_mark(painter, kind, QPointF(x, 9), QColor(colour))
            painter.setPen(text)
            painter.drawText(QRectF(x + 9, 0, 70, 18), Qt.AlignmentFlag.AlignVCenter, label)
            x += 80

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            tip = self.tip_at(QPointF(event.pos()))
            if tip:
                QToolTip.showText(event.globalPos(), tip, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        mark = self.mark_at(event.position())
        if mark is not self.hovered:
            self.hovered = mark
            self.setCursor(
                Qt.CursorShape.PointingHandCursor if mark else Qt.CursorShape.ArrowCursor
            )
            self.setToolTip(self.tip_at(event.position()))
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        mark = self.mark_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and mark and mark.run_id:
            self.run_requested.emit(mark.run_id)
        super().mouseReleaseEvent(event)


def _draw_mark(painter: QPainter, kind: str, centre: QPointF, colour: QColor) -> None:
    painter.setPen(QPen(colour, 2))
    if kind == "release":
        painter.setBrush(colour)
        painter.drawEllipse(centre, RADIUS, RADIUS)
    elif kind == "rollback":
        painter.setBrush(colour)
        path = QPainterPath()
        path.moveTo(centre.x(), centre.y() - RADIUS - 1)
        path.lineTo(centre.x() + RADIUS + 1, centre.y())
        path.lineTo(centre.x(), centre.y() + RADIUS + 1)
        path.lineTo(centre.x() - RADIUS - 1, centre.y())
        path.closeSubpath()
        painter.drawPath(path)
    else:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        r = RADIUS
        painter.drawLine(
            QPointF(centre.x() - r, centre.y() - r), QPointF(centre.x() + r, centre.y() + r)
        )
        painter.drawLine(
            QPointF(centre.x() - r, centre.y() + r), QPointF(centre.x() + r, centre.y() - r)
        )
