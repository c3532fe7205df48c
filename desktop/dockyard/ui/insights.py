"""The Insights tab: delivery metrics as tiles with trends, a weekly chart per metric and
the release timeline, for one repository and environment over a chosen period.

Everything shown is the engine's answer (``engine.insights``): values, "not enough
data", trends and their texts. The view only picks the period and the environment, reads
in a worker (``LatestRead``) and paints. Export writes the view as PNG and the numbers
as CSV, both in a worker.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QEvent, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from dockyard.core.errors import UserInputError
from dockyard.core.model import utcnow
from dockyard.engine.insights.measures import Period
from dockyard.engine.insights.texts import (
    TITLES,
    based_on_text,
    headline_text,
    insights_csv,
    trend_text,
    value_text,
)
from dockyard.store.database import Database
from dockyard.store.repositories import Repository
from dockyard.ui.charts import Bar, WeeklyChart
from dockyard.ui.latestread import LatestRead
from dockyard.ui.theme import coloured, is_palette_change, tones
from dockyard.ui.timeline import ReleaseTimeline
from dockyard.ui.worker import TaskRunner

if TYPE_CHECKING:
    from dockyard.engine.insights.report import DeliveryInsights

PERIODS = (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90), ("From – to", 0))
DEFAULT_PERIOD = 1  # 30 days
CAPTION = (
    "Weekly buckets from the start of the period; a dashed stub is a week with fewer than "
    "two events (not enough data). Hover a bar or a mark for details; click a mark to open "
    "its run."
)


class MetricTile(QFrame):
    """One metric: its value (or "not enough data"), what it is based on, its trend."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"{TITLES[name]} tile")
        self.title = QLabel(TITLES[name])
        self.value = QLabel("…")
        self.value.setAccessibleName(f"{TITLES[name]} value")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.value.setFont(font)
        self.spread = QLabel("")
        self.spread.setAccessibleName(f"{TITLES[name]} p90")
        self.basis = QLabel("")
        self.trend = QLabel("")
        self.trend.setAccessibleName(f"{TITLES[name]} trend")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        for label in (self.title, self.value, self.spread, self.basis, self.trend):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            label.setMinimumWidth(40)  # the window stays 1280 wide: long texts wrap
            layout.addWidget(label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def show_insights(self, insights: DeliveryInsights) -> None:
        tone = tones(self)
        measure = getattr(insights.current, self.name)
        value, spread = headline_text(self.name, measure)
        self.value.setText(value)
        self.spread.setText(spread)
        self.spread.setVisible(bool(spread))
        self.basis.setText(
            coloured(f"based on {based_on_text(self.name, insights.current)}", tone.muted)
        )
        change = insights.trends[self.name]
        colour = {True: tone.ok, False: tone.error, None: tone.muted}[change.better]
        self.trend.setText(
            coloured(trend_text(change, insights.period.days) or "no trend yet", colour)
        )


class InsightsView(LatestRead["DeliveryInsights"], QWidget):
    run_requested = Signal(str)  # a timeline mark was clicked: open this run

    def __init__(
        self, tasks: TaskRunner, db: Database, home: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.db = db
        self.home = home
        self.repository: Repository | None = None
        self.state: DeliveryInsights | None = None
        self.loading = False
        self._generation = 0
        self.file_dialog: QFileDialog | None = None

        self.environment = QComboBox()
        self.environment.setAccessibleName("Insights environment")
        self.environment.setMinimumContentsLength(12)
        self.environment.activated.connect(lambda _index: self.refresh())
        self.period = QComboBox()
        self.period.setAccessibleName("Insights period")
        for text, days in PERIODS:
            self.period.addItem(text, days)
        self.period.setCurrentIndex(DEFAULT_PERIOD)
        self.period.activated.connect(self._period_chosen)
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30))
        self.date_to = QDateEdit(today)
        for edit, name in ((self.date_from, "Insights from"), (self.date_to, "Insights to")):
            edit.setAccessibleName(name)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(lambda _date: self.refresh())
            edit.hide()
        self.export_png_button = QPushButton("Export PNG…")
        self.export_png_button.setAccessibleName("Export PNG")
        self.export_png_button.clicked.connect(
            lambda: self._ask_path("PNG image (*.png)", "png", self.export_png)
        )
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.setAccessibleName("Export CSV")
        self.export_csv_button.clicked.connect(
            lambda: self._ask_path("CSV (*.csv)", "csv", self.export_csv)
        )
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Environment"))
        bar.addWidget(self.environment)
        bar.addWidget(QLabel("Period"))
        bar.addWidget(self.period)
        bar.addWidget(self.date_from)
        bar.addWidget(self.date_to)
        bar.addStretch(1)
        bar.addWidget(self.export_png_button)
        bar.addWidget(self.export_csv_button)

        self.message = QLabel("")
        self.message.setAccessibleName("Insights message")
        self.message.setWordWrap(True)
        self.message.hide()
        self.tiles = {name: MetricTile(name) for name in TITLES}
        self.charts = {name: WeeklyChart(TITLES[name]) for name in TITLES}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for column, name in enumerate(TITLES):
            grid.addWidget(self.tiles[name], 0, column)
            grid.addWidget(self.charts[name], 1, column)
            grid.setColumnStretch(column, 1)
        grid.setRowStretch(1, 1)
        self.caption = QLabel(CAPTION)
        self.caption.setWordWrap(True)
        self.timeline = ReleaseTimeline()
        self.timeline.run_requested.connect(self.run_requested)
        self.notes = QLabel("")
        self.notes.setAccessibleName("Insights notes")
        self.notes.setWordWrap(True)

        self.canvas = QWidget()  # what Export PNG renders: tiles, charts, timeline
        canvas_layout = QVBoxLayout(self.canvas)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        canvas_layout.addLayout(grid, 1)
        canvas_layout.addWidget(self.caption)
        canvas_layout.addWidget(self.timeline)
        canvas_layout.addWidget(self.notes)
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 4, 0, 0)
        page_layout.addLayout(bar)
        page_layout.addWidget(self.message)
        page_layout.addWidget(self.canvas, 1)
        # At 1280×800 everything fits; a smaller window scrolls instead of growing.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(page)
        scroll.viewport().setAutoFillBackground(False)  # the tab's own background shows
        page.setAutoFillBackground(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    # ----- reading -------------------------------------------------------------------

    def set_repository(self, repository: Repository | None) -> None:
        if repository and self.repository and repository.location == self.repository.location:
            return
        self.repository = repository
        self.state = None
        self.environment.clear()
        self._say("" if repository else "Select a repository.")

    def chosen_period(self) -> Period:
        days = int(self.period.currentData())
        if days:
            return Period.last_days(days, utcnow())
        start = datetime.combine(_day(self.date_from), time()).astimezone()
        end = datetime.combine(_day(self.date_to), time()).astimezone()
        return Period(start, end + timedelta(days=1))

    def refresh(self) -> None:
        if self.repository is None:
            return
        try:
            period = self.chosen_period()
        except ValueError:
            self._say("The period must end after it starts; pick a later 'to' date.")
            return
        environment = self.environment.currentText() or None
        self._say("Reading the ledger…" if self.state is None else "")
        self._read(
            _read_insights, self.home, self.db, self.repository.location, period, environment
        )

    def _period_chosen(self, _index: int) -> None:
        custom = not self.period.currentData()
        self.date_from.setVisible(custom)
        self.date_to.setVisible(custom)
        self.refresh()

    def _apply(self, state: DeliveryInsights) -> None:
        self.show_insights(state)

    def show_insights(self, insights: DeliveryInsights) -> None:
        """Shows insights read elsewhere (refresh reads them in a worker)."""
        self.state = insights
        self._say("")
        if [self.environment.itemText(i) for i in range(self.environment.count())] != list(
            insights.environments
        ):
            self.environment.clear()
            self.environment.addItems(list(insights.environments))
        self.environment.setCurrentText(insights.environment)
        self.caption.setText(coloured(CAPTION, tones(self).muted))
        for name, tile in self.tiles.items():
            tile.show_insights(insights)
            self.charts[name].set_bars(*_bars(insights, name))
        self.timeline.set_timeline(insights.environments, insights.timeline, insights.period)
        self.notes.setText("\n".join(insights.notes))
        self.notes.setVisible(bool(insights.notes))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if is_palette_change(event) and self.state is not None:
            self.show_insights(self.state)

    # ----- export --------------------------------------------------------------------

    def _ask_path(self, kind: str, suffix: str, export: object) -> None:
        if self.state is None:
            self._say("Nothing to export yet: wait until the metrics are shown.")
            return
        dialog = QFileDialog(self, "Export insights", str(Path.home()), kind)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix)
        dialog.fileSelected.connect(export)
        if self.file_dialog is not None:
            self.file_dialog.deleteLater()
        self.file_dialog = dialog
        dialog.open()

    def export_png(self, path: str) -> None:
        image = self.canvas.grab().toImage()  # grabbing paints: UI thread; saving is not
        self.tasks.submit(_save_image, image, path, on_result=self._exported)

    def export_csv(self, path: str) -> None:
        if self.state is not None:
            self.tasks.submit(_save_csv, self.state, path, on_result=self._exported)

    def _exported(self, path: str) -> None:
        self._say(f"Exported to {path}.")


def _read_insights(
    home: Path, db: Database, location: str, period: Period, environment: str | None
) -> DeliveryInsights:
    """In a worker: the report module reads dockyard.yml and git, whose libraries the
    window does not need before insights are read."""
    from dockyard.engine.insights.report import delivery_insights

    return delivery_insights(home, db, location, period, environment)


def _bars(insights: DeliveryInsights, name: str) -> tuple[list[Bar], str]:
    bars = []
    for week in insights.weekly:
        measure = getattr(week, name)
        when = week.period.start.astimezone()
        bars.append(
            Bar(
                label=f"{when:%d %b}",
                value=measure.value,
                tip=f"week of {when:%d %b}: {value_text(name, measure)} "
                f"(based on {based_on_text(name, week)})",
            )
        )
    peak = max((getattr(w, name) for w in insights.weekly), key=lambda m: m.value or 0.0)
    return bars, headline_text(name, peak)[0] if peak.value else ""


def _day(edit: QDateEdit) -> date:
    chosen = edit.date()
    return date(chosen.year(), chosen.month(), chosen.day())


def _save_image(image: QImage, path: str) -> str:
    if not image.save(path):  # the format follows the suffix the dialog ensures
        raise UserInputError(f"Could not write {path}; choose a folder you can write to.")
    return path


def _save_csv(insights: DeliveryInsights, path: str) -> str:
    try:
        Path(path).write_text(insights_csv(insights), encoding="utf-8")
    except OSError as exc:
        raise UserInputError(
            f"Could not write {path} ({exc.strerror}); choose a folder you can write to."
        ) from exc
    return path
