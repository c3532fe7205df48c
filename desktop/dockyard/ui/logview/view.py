"""The log view: a live, searchable, colour log that stays smooth at a million lines.

Why a QTableView and not a QListView: QListView lays out every row again on each
insertion (~1.2 s per batch at 1M rows, measured), QTableView with fixed row heights
does not (~3 ms). The table has one column and no headers, so it looks like a list.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dockyard.core.errors import UserInputError
from dockyard.store.logs import StageLogReader
from dockyard.ui import messages
from dockyard.ui.logview.ansi import strip_ansi
from dockyard.ui.logview.delegate import AnsiLineDelegate, monospace_font
from dockyard.ui.logview.follower import LogFollower
from dockyard.ui.logview.model import LogModel
from dockyard.ui.logview.search import LogSearch
from dockyard.ui.worker import TaskRunner

COPY_LIMIT = 200_000  # lines; more goes through "Save…"
_MAX_WIDTH_PX = 16_000_000  # stay far from Qt's int coordinates limit


def save_plain_log(source: Path, target: Path) -> Path:
    """Writes the log without colour codes to target (runs in a worker)."""
    reader = StageLogReader(source)
    reader.refresh()
    with open(target, "w", encoding="utf-8", newline="\n") as out:
        for line in reader.iter_lines():
            out.write(strip_ansi(line))
            out.write("\n")
    return target


def plain_text(reader: StageLogReader, rows: list[int]) -> str:
    """The given lines (ascending row numbers) without colour codes, each ending with a
    newline (runs in a worker)."""
    text: list[str] = []
    for first, count in _consecutive(rows):
        text.extend(f"{strip_ansi(line)}\n" for line in reader.lines(first, count))
    return "".join(text)


def _consecutive(rows: list[int]) -> list[tuple[int, int]]:
    """Ascending row numbers as (first, count) runs."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row == runs[-1][0] + runs[-1][1]:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((row, 1))
    return runs


class _LogTable(QTableView):
    """The lines; Ctrl+C copies every selected line, not just the current one."""

    def __init__(self, owner: LogView) -> None:
        super().__init__(owner)
        self._owner = owner

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self._owner.copy_selection()
            event.accept()
            return
        super().keyPressEvent(event)


class LogView(QWidget):
    """Shows one stage log; follows it while the run is live."""

    def __init__(self, parent: QWidget | None = None, runner: TaskRunner | None = None) -> None:
        super().__init__(parent)
        self._runner = runner or TaskRunner(on_error=messages.error, parent=self)
        self._live = False
        self._follow = True
        self._scrolling_to_end = False
        self._width_chars = -1

        self.model = LogModel(self)
        self.search = LogSearch(self._runner, self)
        self._build_widgets()
        self._follower = LogFollower.shared()
        self._search_delay = QTimer(self)
        self._search_delay.setSingleShot(True)
        self._search_delay.setInterval(200)
        self._search_delay.timeout.connect(self._apply_pattern)

        self.model.rowsInserted.connect(self._rows_inserted)
        self.model.modelReset.connect(self._model_reset)
        self.search.changed.connect(self._show_search_state)
        bar = self.table.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._scrolled)
        self._set_follow(True)

    # ----- building -----------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search (regular expression)")
        self.search_edit.setAccessibleName("Log search")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _text: self._search_delay.start())
        self.search_edit.returnPressed.connect(self.next_match)
        self.match_label = QLabel(self)
        self.match_label.setAccessibleName("Match count")
        self.match_label.setMinimumWidth(140)
        self.previous_button = self._button("Previous", "Previous match", self.previous_match)
        self.next_button = self._button("Next", "Next match", self.next_match)
        self.follow_button = self._button("Follow", "Follow log", self._follow_clicked)
        self.follow_button.setCheckable(True)
        self.follow_button.setToolTip("Scroll to new lines as they arrive")
        self.save_button = self._button("Save…", "Save log", self.save_with_dialog)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.match_label)
        for button in (self.previous_button, self.next_button):
            bar.addWidget(button)
        bar.addSpacing(12)
        bar.addWidget(self.follow_button)
        bar.addWidget(self.save_button)

        table = _LogTable(self)
        table.setAccessibleName("Log lines")
        table.setModel(self.model)
        table.setFont(monospace_font())
        self.delegate = AnsiLineDelegate(table, self.model)
        table.setItemDelegate(self.delegate)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setCornerButtonEnabled(False)
        table.horizontalHeader().hide()
        table.verticalHeader().hide()
        rows = table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(1)
        rows.setDefaultSectionSize(self.delegate.line_height)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)
        self.table = table

        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Log status")
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.status_label)
        layout.addWidget(table, 1)

        for keys, slot in (
            (QKeySequence.StandardKey.FindNext, self.next_match),
            (QKeySequence.StandardKey.FindPrevious, self.previous_match),
            (QKeySequence.StandardKey.Find, self.search_edit.setFocus),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def _button(self, text: str, accessible: str, slot: object) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(accessible)
        button.clicked.connect(slot)
        return button

    # ----- public API ---------------------------------------------------------------

    def set_log(self, path: Path | None, live: bool) -> None:
        """Shows the log at path (None: nothing); returns at once, indexing happens in slices."""
        self.model.set_log(path)
        self.search.set_reader(self.model.reader)
        self._set_follow(True)
        self.set_live(live)

    def set_live(self, live: bool) -> None:
        """While live the file is followed ~30 times a second for new lines."""
        self._live = live
        if self.model.reader is None:
            self._follower.forget(self.model)
        else:
            self._follower.follow(self.model, live)

    # ----- following the file ------------------------------------------------------

    @Slot(QModelIndex, int, int)
    def _rows_inserted(self, _parent: QModelIndex, _first: int, last: int) -> None:
        self._update_width()
        self.search.lines_added(last + 1)

    @Slot()
    def _model_reset(self) -> None:
        self._width_chars = -1
        self._update_width()

    def _update_width(self) -> None:
        chars = max(self.model.max_line_chars(), 1)
        if chars == self._width_chars:
            return
        self._width_chars = chars
        self._fit_column()

    def _fit_column(self) -> None:
        content = min(self.delegate.width_for(max(self._width_chars, 1)), _MAX_WIDTH_PX)
        self.table.setColumnWidth(0, max(content, self.table.viewport().width()))

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit_column()

    @Slot(int, int)
    def _range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self._scrolling_to_end = True
            self.table.verticalScrollBar().setValue(maximum)
            self._scrolling_to_end = False

    @Slot(int)
    def _scrolled(self, value: int) -> None:
        # Line lengths are measured behind the index (store.logs): a huge log's widest
        # line may be known only after its rows were shown.
        self._update_width()
        if self._scrolling_to_end:
            return
        at_end = value >= self.table.verticalScrollBar().maximum()
        if at_end != self._follow:
            self._set_follow(at_end)

    @Slot()
    def _follow_clicked(self) -> None:
        self._set_follow(self.follow_button.isChecked())

    def _set_follow(self, follow: bool) -> None:
        self._follow = follow
        self.follow_button.setChecked(follow)
        if follow:
            bar = self.table.verticalScrollBar()
            self._range_changed(bar.minimum(), bar.maximum())

    # ----- search -------------------------------------------------------------------

    @Slot()
    def _apply_pattern(self) -> None:
        self.search.set_pattern(self.search_edit.text())

    @Slot()
    def _show_search_state(self) -> None:
        search = self.search
        if search.error:
            self.match_label.setText("")
            self._show_status(search.error)
            return
        self._show_status("")
        if not search.active:
            self.match_label.setText("")
            return
        count = search.count()
        text = f"{count:,} match" + ("" if count == 1 else "es")
        current = search.ordinal(self.table.currentIndex().row())
        if current is not None:
            text = f"{current:,} of {count:,} matches"
        self.match_label.setText(text + ("…" if search.running else ""))

    def _show_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    @Slot()
    def next_match(self) -> None:
        self._apply_pending_pattern()
        self._go_to(self.search.next_after(self.table.currentIndex().row()))

    @Slot()
    def previous_match(self) -> None:
        self._apply_pending_pattern()
        current = self.table.currentIndex().row()
        self._go_to(self.search.previous_before(current if current >= 0 else 0))

    def _apply_pending_pattern(self) -> None:
        if self._search_delay.isActive():
            self._search_delay.stop()
            self._apply_pattern()

    def _go_to(self, row: int | None) -> None:
        if row is None:
            return
        self._set_follow(False)
        index = self.model.index(row, 0)
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.selectionModel().setCurrentIndex(index, flags)
        # The one cell is as wide as the longest line: scrolling to it must not jump sideways.
        sideways = self.table.horizontalScrollBar()
        column = sideways.value()
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        sideways.setValue(column)
        self._show_search_state()

    # ----- copy and save ------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        rows: list[int] = []
        selection = self.table.selectionModel().selection()
        for number in range(selection.size()):
            selected = selection.at(number)
            rows.extend(range(selected.top(), selected.bottom() + 1))
            if len(rows) > COPY_LIMIT:
                break
        return sorted(set(rows))

    @Slot()
    def copy_selection(self) -> None:
        rows = self.selected_rows()
        reader = self.model.reader
        if not rows or reader is None:
            return
        if len(rows) > COPY_LIMIT:
            rows = rows[:COPY_LIMIT]
            self._show_status(
                f"Copied the first {COPY_LIMIT:,} selected lines; use Save… for the whole log."
            )
        # Reading and cleaning 200,000 lines takes the better part of a second: a worker's.
        self._runner.submit(plain_text, reader, rows, on_result=QGuiApplication.clipboard().setText)

    @Slot()
    def save_with_dialog(self) -> None:
        source = self.model.path()
        if source is None:
            return
        target, _filter = QFileDialog.getSaveFileName(
            self, "Save log", str(Path.home() / source.name), "Log files (*.log *.txt)"
        )
        if target:
            self.save_to(Path(target))

    def save_to(self, target: Path) -> None:
        """Saves the log as plain text in a worker; reports the outcome in the status line."""
        source = self.model.path()
        if source is None:
            return
        self.save_button.setEnabled(False)

        def saved(path: Path) -> None:
            self.save_button.setEnabled(True)
            self._show_status(f"Saved the log to {path}.")

        def failed(message: str, details: str) -> None:
            self.save_button.setEnabled(True)
            self._show_status(message)
            messages.error(message, details)

        self._runner.submit(_save, source, target, on_result=saved, on_error=failed)


def _save(source: Path, target: Path) -> Path:
    try:
        return save_plain_log(source, target)
    except OSError as exc:
        raise UserInputError(
            f"Could not save the log to {target}: {exc.strerror}; choose another folder."
        ) from exc
