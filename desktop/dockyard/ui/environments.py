"""The Environments tab: one card per environment, in promotion order.

Each card shows what runs (release, commit, digest, who, when, health), a drift
warning, the pin left by a rollback (with Unpin), and a prominent panel when a release
waits for approval (digest, commits since the running release, configuration diff,
requested by, Approve… / Reject…). Everything is read in one worker call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dockyard.core.releases import Deployment
from dockyard.engine.release.results import (
    EnvironmentStatus,
    ReleaseChanges,
    ReleaseOutcome,
    RepoStatus,
)
from dockyard.store.database import Database
from dockyard.store.repositories import Repository
from dockyard.ui.icons import icon_html
from dockyard.ui.latestread import LatestRead
from dockyard.ui.releasedialogs import DecisionDialog, ReleaseCalls, RollbackDialog, ServiceFor
from dockyard.ui.runsmodel import format_moment
from dockyard.ui.theme import coloured, is_dark, is_palette_change, tones
from dockyard.ui.widgets import discard
from dockyard.ui.worker import TaskRunner


@dataclass(frozen=True)
class EnvironmentsState:
    status: RepoStatus
    changes: dict[str, ReleaseChanges]  # per environment with a pending approval


def read_environments(made: ServiceFor, location: str) -> EnvironmentsState:
    service = made.open()
    status = service.status(location)
    changes = {
        env.name: service.changes_between(location, env.name, env.pending)
        for env in status.environments
        if env.pending is not None
    }
    return EnvironmentsState(status, changes)


def health_text(env: EnvironmentStatus) -> str:
    if env.host_error:
        return f"host unreachable: {env.host_error}"
    if not env.running:
        return "nothing runs"
    return "; ".join(running.condition() for running in env.running)


def _label(text: str, name: str, style: str = "") -> QLabel:
    label = QLabel(text)
    label.setAccessibleName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if style:
        label.setStyleSheet(style)
    return label


class EnvironmentCard(QFrame):
    def __init__(
        self,
        env: EnvironmentStatus,
        changes: ReleaseChanges | None,
        actions: EnvironmentsView,
    ) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"Environment {env.name}")
        self.setMinimumWidth(300)
        self.setMaximumWidth(420)
        name = env.name
        tone = tones(actions)
        layout = QVBoxLayout(self)
        config = env.config
        how = ""
        if config is not None:
            rule = "automatic" if config.auto else "needs approval"
            how = " " + coloured(f"({config.mode} on {config.host}, {rule})", tone.muted)
        layout.addWidget(_label(f"<h3>{name}{how}</h3>", f"Title {name}"))

        release = env.release
        if release is None:
            layout.addWidget(_label("Nothing deployed yet.", f"Release {name}"))
        else:
            label = release.label
            kind = " (rollback)" if release.rollback else ""
            # An untagged release is labelled by its commit already.
            commit = f" · {release.commit[:7]}" if release.tag else ""
            layout.addWidget(
                _label(
                    f"<b style='font-size:large'>{label}</b>{kind}{commit} · "
                    f"{release.digest.removeprefix('sha256:')[:12]}<br>"
                    + (f"on {_escape(str(release.target))}, " if release.target else "")
                    + f"deployed by {release.deployed_by}, {format_moment(release.started)}"
                    f" — {release.status}",
                    f"Release {name}",
                )
            )
        layout.addWidget(_label(f"Health: {health_text(env)}", f"Health {name}"))
        if env.drift:
            layout.addWidget(
                _label(
                    f"{icon_html('warning')} Drift: {_escape(env.drift)}",
                    f"Drift {name}",
                    f"background:{tone.warning_bg}; color:{tone.warning}; padding:4px;"
                    " border-radius:3px",
                )
            )
        if env.pin is not None:
            pin = QFrame()
            pin.setObjectName("pin")
            pin.setStyleSheet(
                f"QFrame#pin {{ background:{tone.info_bg}; border-radius:3px }}"
                f"QFrame#pin QLabel {{ color:{tone.info_fg}; background:transparent }}"
            )
            row = QHBoxLayout(pin)
            row.addWidget(
                _label(
                    f"{icon_html('pin')} Pinned by {_escape(env.pin.pinned_by)}: "
                    f"{_escape(env.pin.reason)}",
                    f"Pin {name}",
                ),
                1,
            )
            row.addWidget(actions.button("Unpin", f"Unpin {name}", lambda: actions.unpin(name)))
            layout.addWidget(pin)
        if env.retry and env.latest is not None:
            layout.addWidget(self._retry_panel(env, env.latest, actions))
        if env.pending is not None:
            layout.addWidget(self._pending_panel(env, changes, actions))
        layout.addStretch(1)
        if release is not None:
            layout.addWidget(
                actions.button("Rollback…", f"Rollback {name}", lambda: actions.rollback(name)),
                0,
                Qt.AlignmentFlag.AlignRight,
            )

    def _retry_panel(
        self, env: EnvironmentStatus, failed: Deployment, actions: EnvironmentsView
    ) -> QFrame:
        """The engine said the failed approved deployment may run again under its approval."""
        name = env.name
        tone = tones(actions)
        panel = QFrame()
        panel.setObjectName("retry")
        panel.setStyleSheet(
            f"QFrame#retry {{ background:{tone.warning_bg}; border-radius:3px }}"
            f"QFrame#retry QLabel {{ color:{tone.warning}; background:transparent }}"
        )
        layout = QVBoxLayout(panel)
        label = failed.label
        why = f": {_escape(failed.error)}" if failed.error else ""
        layout.addWidget(
            _label(f"The approved deployment of {label} {failed.status}{why}", f"Failed {name}")
        )
        retry = actions.button("Retry deployment", f"Retry {name}", lambda: actions.retry(name))
        retry.setToolTip(env.retry.reason)
        layout.addWidget(retry, 0, Qt.AlignmentFlag.AlignRight)
        return panel

    def _pending_panel(
        self, env: EnvironmentStatus, changes: ReleaseChanges | None, actions: EnvironmentsView
    ) -> QFrame:
        pending = env.pending
        assert pending is not None
        name = env.name
        panel = QFrame()
        panel.setObjectName("pending")
        tone = tones(actions)
        panel.setStyleSheet(
            f"QFrame#pending {{ background:{tone.pending_bg};"
            f" border:2px solid {tone.pending_border}; border-radius:4px }}"
            f"QFrame#pending QLabel {{ color:{tone.pending_fg}; background:transparent }}"
        )
        layout = QVBoxLayout(panel)
        label = pending.label
        approvals = ", ".join(a.approver for a in pending.approvals) or "none yet"
        goes = f"goes to {_escape(str(env.pending_target))}<br>" if env.pending_target else ""
        text = (
            f"<b>Awaiting approval: {label}</b><br>digest {pending.digest[:19]}…<br>{goes}"
            f"requested by {pending.requested_by}, {format_moment(pending.created)}<br>"
            f"approvals: {approvals}"
        )
        text += "".join(f"<br><b>{_escape(note)}</b>" for note in env.pending_notes)
        layout.addWidget(_label(text, f"Pending {name}"))
        if changes is not None:
            commits = "".join(
                f"<br>&nbsp;&nbsp;{c.commit[:7]} {_escape(c.message)}" for c in changes.commits[:8]
            )
            more = len(changes.commits) - 8
            if more > 0:
                commits += f"<br>&nbsp;&nbsp;… and {more} more"
            diff = "".join(f"<br>&nbsp;&nbsp;{_escape(line)}" for line in changes.config_diff)
            relation = {
                "back": "the running release has that this one lacks",
                "first": "in this first release (nothing runs here yet)",
            }.get(changes.direction, "since the running release")
            count = len(changes.commits)
            detail = f"{count} commit{'' if count == 1 else 's'} {relation}:{commits}"
            detail += f"<br>Configuration: {'changes' if diff else 'unchanged'}{diff}"
            if changes.git_error:
                detail += f"<br>({_escape(changes.git_error)})"
            layout.addWidget(_label(detail, f"Pending changes {name}"))
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(
            actions.button("Reject…", f"Reject {name}", lambda: actions.decide(name, False))
        )
        approve = actions.button("Approve…", f"Approve {name}", lambda: actions.decide(name, True))
        approve.setDefault(True)
        row.addWidget(approve)
        layout.addLayout(row)
        return panel


class EnvironmentsView(LatestRead[EnvironmentsState], QWidget):
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
        self.calls = ReleaseCalls(tasks, home, db, identity)
        self.repository: Repository | None = None
        self.state: EnvironmentsState | None = None
        self.loading = False
        self.dialog: DecisionDialog | RollbackDialog | None = None
        self.notice = ""  # the outcome of the last action taken from a card
        self._generation = 0
        self._dark = is_dark(self)

        self.message = _label("", "Environments message")
        self.message.hide()
        self.cards = QWidget()
        self.cards_layout = QHBoxLayout(self.cards)
        self.cards_layout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.cards)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(scroll, 1)

    def button(self, text: str, name: str, slot: Callable[[], None]) -> QPushButton:
        made = QPushButton(text)
        made.setAccessibleName(name)
        made.clicked.connect(lambda: slot())
        return made

    def set_repository(self, repository: Repository | None) -> None:
        self.repository = repository
        self.state = None
        self.notice = ""
        self._clear()
        self._say("" if repository else "Select a repository.")

    def refresh(self) -> None:
        if self.repository is None:
            return
        self._say("Reading environments…" if self.state is None else self.notice)
        self._read(read_environments, self.calls.service(), self.repository.location)

    def _apply(self, state: EnvironmentsState) -> None:
        # Re-read after every commit the window notices (every stage of a streaming run):
        # cards that would show the same are kept, with the focus and hover they have.
        if state != self.state:
            self.show_state(state)

    def changeEvent(self, event: QEvent) -> None:
        # Cards carry palette-derived colours: rebuild them when light/dark flips.
        super().changeEvent(event)
        if is_palette_change(event) and self.state is not None and self._dark != is_dark(self):
            self.show_state(self.state)

    def show_state(self, state: EnvironmentsState) -> None:
        """Shows environments read elsewhere (refresh reads them in a worker)."""
        self.state = state
        self._dark = is_dark(self)
        self._clear()
        environments = state.status.environments
        self._say(
            self.notice
            if environments
            else "This repository's dockyard.yml names no environments; add an environments: "
            "section to deploy it."
        )
        for env in environments:
            card = EnvironmentCard(env, state.changes.get(env.name), self)
            self.cards_layout.addWidget(card)

    def _clear(self) -> None:
        while self.cards_layout.count():
            item = self.cards_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                discard(widget)

    def environment(self, name: str) -> EnvironmentStatus | None:
        if self.state is None:
            return None
        return next((e for e in self.state.status.environments if e.name == name), None)

    # ----- actions ----------------------------------------------------------------

    def decide(self, name: str, approve: bool) -> None:
        env = self.environment(name)
        if env is None or env.pending is None or self.repository is None:
            return
        dialog = DecisionDialog(
            self.calls, self.repository.location, env.pending, approve, self, env.pending_target
        )
        dialog.decided.connect(self.refresh)
        dialog.refused.connect(self._decision_refused)
        self._open(dialog)

    def _decision_refused(self, message: str) -> None:
        """The card is read again: a refusal may mean the release or its target changed
        (the engine then asks for a review of the new request), and the view says why."""
        self.notice = message
        self.refresh()

    def rollback(self, name: str) -> None:
        if self.repository is None:
            return
        dialog = RollbackDialog(self.calls, self.repository.location, name, self)
        dialog.rolled_back.connect(lambda _message: self.refresh())
        self._open(dialog)

    def retry(self, name: str) -> None:
        env = self.environment(name)
        if self.repository is None or env is None or env.latest is None:
            return
        self.notice = f"Retrying the deployment to {name}…"
        self._say(self.notice)
        location, digest = self.repository.location, env.latest.digest
        self.calls.change(
            "deploying",
            # The release the card showed, nothing newer.
            lambda service: service.retry(location, name, digest=digest),
            on_result=self._retried,
            on_error=lambda message, _d: self._retried(None, message),
            on_waiting=self._say,
        )

    def _retried(self, outcome: ReleaseOutcome | None, error: str = "") -> None:
        self.notice = outcome.message if outcome is not None else error
        self.refresh()

    def unpin(self, name: str) -> None:
        if self.repository is None:
            return
        location = self.repository.location
        self.calls.change(
            "unpinning",
            lambda service: service.unpin(location, name),
            on_result=lambda _none: self.refresh(),
            on_error=lambda message, _d: self._say(message),
        )

    def _open(self, dialog: DecisionDialog | RollbackDialog) -> None:
        # Not WA_DeleteOnClose: its result may still be read after it closed.
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = dialog
        dialog.open()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
