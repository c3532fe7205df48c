"""The Overview tab: every repository × every environment, for the release manager.

Each cell shows what runs (tag, digest, status) and what waits; "Promote" sends that
exact digest to the next environment in promotion order, through its rules (an
automatic environment deploys it, an approved one gets a pending approval). Everything
is read in one worker call; the grid is rebuilt from plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dockyard.core.errors import DockyardError
from dockyard.engine.release.results import EnvironmentStatus, ReleaseOutcome, RepoStatus
from dockyard.store.database import Database
from dockyard.store.repositories import Repository, RepositoryStore
from dockyard.ui.icons import icon_html
from dockyard.ui.latestread import LatestRead
from dockyard.ui.releasedialogs import ReleaseCalls, ServiceFor
from dockyard.ui.theme import LIGHT, Tones, coloured, is_dark, is_palette_change, tones
from dockyard.ui.widgets import discard
from dockyard.ui.worker import TaskRunner


@dataclass(frozen=True)
class OverviewRow:
    repository: Repository
    status: RepoStatus | None
    error: str = ""  # why its environments could not be read (e.g. a bad dockyard.yml)


@dataclass(frozen=True)
class OverviewState:
    rows: list[OverviewRow]
    environments: list[str]  # the columns, in promotion order as first seen


def read_overview(made: ServiceFor, db: Database) -> OverviewState:
    service = made.open()
    rows: list[OverviewRow] = []
    columns: list[str] = []
    for repository in RepositoryStore(db).list():
        try:
            status = service.status(repository.location)
        except DockyardError as exc:
            rows.append(OverviewRow(repository, None, exc.message))
            continue
        rows.append(OverviewRow(repository, status))
        columns += [e.name for e in status.environments if e.name not in columns]
    return OverviewState(rows, columns)


def cell_lines(env: EnvironmentStatus, tone: Tones = LIGHT) -> list[str]:
    """What a cell says, one short line each (rich text, in ``tone``'s colours)."""
    lines = []
    release = env.release
    if release is None:
        lines.append(coloured("nothing deployed", tone.muted))
    else:
        label = release.label
        rollback = " (rollback)" if release.rollback else ""
        lines.append(f"<b>{label}</b>{rollback} · {release.digest.removeprefix('sha256:')[:12]}")
        lines.append(f"{release.status} by {release.deployed_by}")
    if env.host_error:
        lines.append(coloured("host unreachable", tone.error))
    elif env.drift:
        lines.append(f"{icon_html('warning')} {coloured('drift', tone.warning)}")
    if env.pin is not None:
        lines.append(f"{icon_html('pin')} pinned")
    if env.pending is not None:
        label = env.pending.label
        lines.append(coloured(f"Awaiting approval: {label}", tone.attention, bold=True))
    return lines


class OverviewView(LatestRead[OverviewState], QWidget):
    """The matrix; ``review_requested(location)`` asks the window to open a repository's
    Environments tab (where Approve / Reject live)."""

    review_requested = Signal(str)

    def __init__(
        self,
        tasks: TaskRunner,
        db: Database,
        home: Path,
        identity: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.db = db
        self.calls = ReleaseCalls(tasks, home, db, identity)
        self.state: OverviewState | None = None
        self.loading = False
        self.confirm: QMessageBox | None = None
        self._generation = 0
        self._dark = is_dark(self)

        self.message = QLabel()
        self.message.setAccessibleName("Overview message")
        self.message.setWordWrap(True)
        self.message.hide()
        self.grid_widget = QWidget()
        self.grid = QGridLayout(self.grid_widget)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_widget)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(scroll, 1)

    def refresh(self) -> None:
        if self.state is None:
            self._say("Reading every repository's environments…")
        self._read(read_overview, self.calls.service(), self.db)

    def _apply(self, state: OverviewState) -> None:
        if state == self.state:
            return  # re-read after a commit elsewhere: the same grid is kept as it is
        self.state = state
        if self.message.text().startswith("Reading"):
            self._say("")
        if not state.rows:
            self._say("No repositories yet: add one to see its environments here.")
        self._rebuild(state)

    def changeEvent(self, event: QEvent) -> None:
        # Cells carry palette-derived colours: rebuild them when light/dark flips.
        super().changeEvent(event)
        if is_palette_change(event) and self.state is not None and self._dark != is_dark(self):
            self._rebuild(self.state)

    def _rebuild(self, state: OverviewState) -> None:
        self._dark = is_dark(self)
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                discard(widget)
        if state.rows:
            self.grid.addWidget(QLabel("<b>Repository</b>"), 0, 0, Qt.AlignmentFlag.AlignLeft)
        for column, name in enumerate(state.environments, start=1):
            header = QLabel(f"<b>{name}</b>")
            header.setAccessibleName(f"Column {name}")
            self.grid.addWidget(header, 0, column, Qt.AlignmentFlag.AlignLeft)
        for number, row in enumerate(state.rows, start=1):
            title = QLabel(f"<b>{row.repository.name}</b>")
            title.setAccessibleName(f"Row {row.repository.name}")
            title.setToolTip(row.repository.location)
            self.grid.addWidget(title, number, 0, Qt.AlignmentFlag.AlignTop)
            if row.status is None:
                error = QLabel(coloured(_escape(row.error), tones(self).error))
                error.setAccessibleName(f"Error {row.repository.name}")
                error.setWordWrap(True)
                self.grid.addWidget(error, number, 1, 1, max(1, len(state.environments)))
                continue
            if not row.status.environments:
                none = QLabel(coloured("no environments in dockyard.yml", tones(self).muted))
                self.grid.addWidget(none, number, 1, 1, max(1, len(state.environments)))
            for env in row.status.environments:
                column = state.environments.index(env.name) + 1
                self.grid.addWidget(self._cell(row, env), number, column)
        for number in range(self.grid.rowCount()):
            self.grid.setRowStretch(number, 0)
        # The space left goes below the last row, not into the cells.
        self.grid.setRowStretch(len(state.rows) + 1, 1)

    def _cell(self, row: OverviewRow, env: EnvironmentStatus) -> QFrame:
        assert row.status is not None
        repository = row.repository
        cell = QFrame()
        cell.setFrameShape(QFrame.Shape.StyledPanel)
        cell.setMinimumWidth(230)
        cell.setAccessibleName(f"Cell {repository.name} {env.name}")
        layout = QVBoxLayout(cell)
        text = QLabel("<br>".join(cell_lines(env, tones(self))))
        text.setAccessibleName(f"Release {repository.name} {env.name}")
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignTop)
        target = env.promotes_to
        if env.release is not None and target is not None:
            promote = QPushButton(f"Promote to {target}…")
            promote.setAccessibleName(f"Promote {repository.name} {env.name}")
            promote.setToolTip(f"Send {env.release.digest} to {target}, through its rules")
            digest = env.release.digest
            promote.clicked.connect(lambda: self.ask_promote(repository, env.name, target, digest))
            layout.addWidget(promote, 0, Qt.AlignmentFlag.AlignLeft)
        if env.pending is not None:
            review = QPushButton("Review…")
            review.setAccessibleName(f"Review {repository.name} {env.name}")
            review.clicked.connect(lambda: self.review_requested.emit(repository.location))
            layout.addWidget(review, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)  # cells of one row line up at the top, however tall
        return cell

    # ----- promote ------------------------------------------------------------------

    def ask_promote(self, repository: Repository, source: str, target: str, digest: str) -> None:
        """Asks first: promoting to an automatic environment deploys at once."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Promote")
        box.setText(f"Send what runs in {source} of {repository.name} to {target}?")
        box.setInformativeText(
            f"Image {digest}. {target} applies its own rules: it deploys at once if it is "
            "automatic, otherwise the release waits for approval."
        )
        go = box.addButton("Promote", QMessageBox.ButtonRole.AcceptRole)
        go.setAccessibleName("Confirm promote")
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setAccessibleName("Promote confirmation")

        def clicked(button: object) -> None:
            if button is go:
                self.promote(repository.location, target, digest)

        box.buttonClicked.connect(clicked)
        if self.confirm is not None:
            self.confirm.deleteLater()
        self.confirm = box
        box.open()

    def promote(self, location: str, target: str, digest: str) -> None:
        self._say(f"Promoting {digest[:19]}… to {target}…")

        def done(outcome: ReleaseOutcome) -> None:
            self._say(outcome.message)
            self.refresh()

        def failed(message: str, _details: str) -> None:
            self._say(message)

        self.calls.change(
            "deploying",
            lambda service: service.promote(location, target, digest),
            on_result=done,
            on_error=failed,
        )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
