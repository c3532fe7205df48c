"""Paints a run's stages as small coloured chips (one per stage) in the runs table, and
one more chip for a run that stopped at an approval gate (waiting, or superseded)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from dockyard.core.model import Run, RunStatus
from dockyard.ui.runsmodel import RunRole

CHIP_COLOURS = {
    "pending": "#9e9e9e",
    "running": "#1565c0",
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#8d8d8d",
    "skipped": "#b0b0b0",
    # The gate, in the colours of the run's status icon (resources/icons/status-*.svg).
    "awaiting_approval": "#ef6c00",
    "superseded": "#5c6bc0",
}
GATE_LABELS = {RunStatus.AWAITING_APPROVAL: "awaiting approval", RunStatus.SUPERSEDED: "superseded"}
MUTED = ("pending", "cancelled", "skipped")
# On a dark table light-grey chips glare and white text on them is unreadable: the muted
# states get dark greys with light text there; the saturated ones read well on both.
DARK_MUTED_COLOURS = {"pending": "#5c5c5c", "cancelled": "#4e4e4e", "skipped": "#444444"}
CHIP_GAP = 4
CHIP_PADDING = 6


def chip_colour(status: str, dark: bool = False) -> QColor:
    if dark and status in DARK_MUTED_COLOURS:
        return QColor(DARK_MUTED_COLOURS[status])
    return QColor(CHIP_COLOURS.get(status, "#9e9e9e"))


def chip_label(stage: str) -> str:
    """Deployment stages by their environment ("→ production"), so a row's chips fit."""
    environment = stage.removeprefix("deploy-")
    return f"→ {environment}" if environment != stage else stage


def chips(run: Run) -> list[tuple[str, str]]:
    """(label, status) of each chip of ``run``, in order."""
    shown = [(chip_label(stage.name), str(stage.status)) for stage in run.stages]
    gate = GATE_LABELS.get(run.status)
    return [*shown, (gate, str(run.status))] if gate else shown


class StageChipsDelegate(QStyledItemDelegate):
    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        run = index.data(RunRole)
        if not isinstance(run, Run):
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget else None
        if style is not None:
            # Background and selection as the style draws them, without the text.
            plain = QStyleOptionViewItem(option)
            self.initStyleOption(plain, index)
            plain.text = ""
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, plain, painter, option.widget)
        rect: QRect = option.rect
        metrics = QFontMetrics(option.font)
        height = min(rect.height() - 6, metrics.height() + 4)
        top = rect.top() + (rect.height() - height) // 2
        x = rect.left() + CHIP_GAP
        dark = option.palette.color(QPalette.ColorRole.Base).lightness() < 128
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        every = chips(run)
        for shown, (label, status) in enumerate(every):
            width = metrics.horizontalAdvance(label) + 2 * CHIP_PADDING
            if x + width > rect.right():
                # Say that some did not fit (the tooltip lists them all) rather than hide them.
                painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
                more = QRect(x, top, rect.right() - x, height)
                painter.drawText(more, Qt.AlignmentFlag.AlignVCenter, f"+{len(every) - shown}")
                break
            chip = QRect(x, top, width, height)
            colour = chip_colour(status, dark)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(chip, height / 2, height / 2)
            text = (
                QColor("#e8e8e8" if dark else "#202020") if status in MUTED else QColor("#ffffff")
            )
            painter.setPen(text)
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, label)
            x += width + CHIP_GAP
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        run = index.data(RunRole)
        metrics = QFontMetrics(option.font)
        if not isinstance(run, Run):
            return super().sizeHint(option, index)
        width = sum(
            metrics.horizontalAdvance(label) + 2 * CHIP_PADDING + CHIP_GAP
            for label, _status in chips(run)
        )
        return QSize(width + CHIP_GAP, metrics.height() + 10)
