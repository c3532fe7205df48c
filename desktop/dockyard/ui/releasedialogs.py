"""Approve / Reject and Rollback dialogs; the engine call runs in a worker.

A refusal (self-approval, a missing comment, a pin, a release that changed since it was
shown) comes back as the engine's one sentence and is shown in the dialog, which stays
open so the user can read it. The dialogs show the engine's answers (which releases a
rollback may go to, what it changes); they never work them out themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dockyard.core.releases import ApprovalRequest, Deployment, DeployTarget
from dockyard.engine.release.results import ReleaseChanges, ReleaseOutcome
from dockyard.store.database import Database
from dockyard.ui.runsmodel import format_moment
from dockyard.ui.theme import tones
from dockyard.ui.worker import ErrorCallback, TaskRunner

if TYPE_CHECKING:
    from dockyard.engine.release.rollback import RollbackChoices
    from dockyard.engine.release.service import ReleaseService

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceFor:
    """The release engine as ``identity``, made in the worker that calls it: its module
    imports the deploy engine and the Docker SDK, which the window does not need to show."""

    home: Path
    db: Database
    identity: str

    def open(self) -> ReleaseService:
        from dockyard.engine.release.service import ReleaseService

        return ReleaseService(home=self.home, db=self.db, identity=self.identity)


class ReleaseCalls:
    """What a dialog needs to call the release engine as the current identity.

    ``refusal`` (set by the window) names why a change cannot be made now, or None.
    """

    def __init__(
        self, tasks: TaskRunner, home: Path, db: Database, identity: Callable[[], str]
    ) -> None:
        self.tasks = tasks
        self.home = home
        self.db = db
        self.identity = identity
        self.refusal: Callable[[str], str | None] = lambda _what: None

    def service(self) -> ServiceFor:
        """Who acts is read now, on the UI thread; the service is made in the worker."""
        return ServiceFor(self.home, self.db, self.identity())

    def read(
        self,
        call: Callable[[ReleaseService], T],
        *,
        on_result: Callable[[T], object],
        on_error: ErrorCallback,
    ) -> None:
        """``call(service)`` in a worker: a read, allowed while the team ledger is away."""
        self.tasks.submit(_calling, call, self.service(), on_result=on_result, on_error=on_error)

    def change(
        self,
        doing: str,
        call: Callable[[ReleaseService], T],
        *,
        on_result: Callable[[T], object],
        on_error: ErrorCallback,
        on_waiting: Callable[[str], object] | None = None,
    ) -> None:
        """``call(service)`` in a worker, a change of releases (``doing``: "approving",
        "rolling back"…), refused while the team ledger is away. ``on_waiting`` hears, on
        the UI thread, when it waits for another deployment to the environment."""
        refused = self.refusal(doing)
        if refused:
            on_error(refused, "")
            return
        self.tasks.submit_reporting(
            _telling_waits, call, self.service(),
            on_progress=on_waiting or _unheard, on_result=on_result, on_error=on_error,
        )  # fmt: skip


def _calling(call: Callable[[ReleaseService], T], made: ServiceFor) -> T:
    return call(made.open())


def _telling_waits(
    report: Callable[[str], None], call: Callable[[ReleaseService], T], made: ServiceFor
) -> T:
    service = made.open()
    service.on_wait = report  # called in the worker, heard on the UI thread
    return call(service)


def _unheard(_message: str) -> None:
    pass


def describe_changes(changes: ReleaseChanges) -> str:
    """The engine's ``ReleaseChanges`` as text: the commits under the heading its
    ``direction`` gives (taken away going back, brought in going forward), then the
    configuration diff."""
    count = len(changes.commits)
    verb = {"back": "it takes away", "first": "it brings (nothing runs there yet)"}.get(
        changes.direction, "it brings"
    )
    lines = [f"{count} commit{'' if count == 1 else 's'} {verb}:"]
    lines += [f"  {c.commit[:7]} {c.message} — {c.author.split(' <')[0]}" for c in changes.commits]
    if changes.git_error:
        lines.append(f"  (commits unknown: {changes.git_error})")
    lines.append("Configuration:" if changes.config_diff else "Configuration: unchanged")
    lines += [f"  {line}" for line in changes.config_diff]
    return "\n".join(lines)


def _error_label(name: str) -> QLabel:
    label = QLabel()
    label.setAccessibleName(name)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {tones().error}")
    label.hide()
    return label


class DecisionDialog(QDialog):
    """Approve or reject the pending release of one environment, with a comment."""

    decided = Signal()
    refused = Signal(str)  # the engine's sentence: what the card showed may have changed

    def __init__(
        self,
        calls: ReleaseCalls,
        repo: str,
        request: ApprovalRequest,
        approve: bool,
        parent: QWidget | None = None,
        target: DeployTarget | None = None,  # where the engine says it goes
    ) -> None:
        super().__init__(parent)
        self.calls = calls
        self.repo = repo
        self.request = request
        self.approve = approve
        verb = "Approve" if approve else "Reject"
        label = request.label
        self.setWindowTitle(f"{verb} {label} for {request.environment}")
        self.setAccessibleName(f"{verb} dialog")
        intro = QLabel(
            f"<b>{verb} {label}</b> for <b>{request.environment}</b> as "
            f"<b>{calls.identity()}</b><br>digest {request.digest}<br>"
            + (f"goes to <b>{target}</b><br>" if target else "")
            + f"requested by {request.requested_by}"
        )
        intro.setWordWrap(True)
        intro.setAccessibleName("Decision intro")
        self.comment = QLineEdit()
        self.comment.setAccessibleName("Decision comment")
        self.comment.setPlaceholderText(
            "Comment (optional)" if approve else "Why is it rejected? (required)"
        )
        self.error_label = _error_label("Decision error")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.confirm = QPushButton(verb)
        self.confirm.setAccessibleName(verb)
        buttons.addButton(self.confirm, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.confirm.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.comment)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def submit(self) -> None:
        comment = self.comment.text().strip()
        if not self.approve and not comment:
            self._refused("A rejection needs a reason; write it in the comment.")
            return
        self.confirm.setEnabled(False)
        self.error_label.hide()
        # Decide exactly the digest this dialog showed: if a newer run replaced the
        # request meanwhile, the engine refuses instead of deciding on an unseen release.
        repo, environment, digest = self.repo, self.request.environment, self.request.digest
        approve = self.approve
        self.calls.change(
            "approving" if approve else "rejecting",
            lambda service: (service.approve if approve else service.reject)(
                repo, environment, comment, digest=digest
            ),
            on_result=self._done,
            on_error=lambda message, _details: self._engine_refused(message),
            on_waiting=self._waiting,
        )

    def _engine_refused(self, message: str) -> None:
        self._refused(message)
        self.refused.emit(message)

    def _waiting(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _done(self, _outcome: object) -> None:  # what the engine did is in the views now
        self.decided.emit()
        self.accept()

    def _refused(self, message: str) -> None:
        self.confirm.setEnabled(True)
        self.error_label.setText(message)
        self.error_label.show()


class RollbackDialog(QDialog):
    """Pick a release that ran in the environment, see what changes, give a reason, confirm.

    The list is the engine's ``RollbackChoices``: the current release is shown, marked
    current and not selectable; the release before it is preselected.
    """

    rolled_back = Signal(str)  # the engine's message

    def __init__(
        self, calls: ReleaseCalls, repo: str, environment: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.calls = calls
        self.repo = repo
        self.environment = environment
        self.releases: list[Deployment] = []
        self.current: Deployment | None = None
        self.targets: dict[int, DeployTarget | None] = {}  # the engine's, per release
        self.refused: dict[int, str] = {}  # the engine's refusals, per release
        self.loaded = False
        self.setWindowTitle(f"Roll back {environment}")
        self.setAccessibleName("Rollback dialog")

        self.list = QTreeWidget()
        self.list.setAccessibleName("Earlier releases")
        self.list.setHeaderLabels(["Release", "When", "Who", "Kind"])
        self.list.setRootIsDecorated(False)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setColumnWidth(0, 150)
        self.list.setColumnWidth(1, 130)
        self.list.setColumnWidth(2, 170)
        self.list.currentItemChanged.connect(lambda *_: self._picked())
        self.changes = QPlainTextEdit()
        self.changes.setAccessibleName("Rollback changes")
        self.changes.setReadOnly(True)
        self.changes.setPlaceholderText("Pick a release to see what changes.")
        self.comment = QLineEdit()
        self.comment.setAccessibleName("Rollback comment")
        self.comment.setPlaceholderText("Why roll back? (required, recorded in the audit trail)")
        self.comment.textChanged.connect(lambda _t: self._update_button())
        self.confirm_box = QCheckBox("Pick a release")
        self.confirm_box.setAccessibleName("Confirm rollback")
        self.confirm_box.toggled.connect(lambda _c: self._update_button())
        self.error_label = _error_label("Rollback error")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.roll_button = QPushButton("Roll back")
        self.roll_button.setAccessibleName("Roll back")
        buttons.addButton(self.roll_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.roll_button.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)

        intro = QLabel(
            f"Releases that ran in <b>{environment}</b> (a rollback goes back only to one of "
            "these; anything else is a new release, through the pipeline and its gate):"
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.changes, 1)
        layout.addWidget(self.comment)
        layout.addWidget(self.confirm_box)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.resize(640, 560)
        self._update_button()
        calls.read(
            lambda service: service.rollback_choices(repo, environment),
            on_result=self._listed,
            on_error=lambda message, _d: self._show_error(message),
        )

    def _listed(self, choices: RollbackChoices) -> None:
        self.releases = choices.releases
        self.current = choices.current
        self.targets = choices.targets
        self.refused = choices.refused
        self.loaded = True
        current_id = choices.current.id if choices.current else None
        for deployment in choices.releases:
            kind = "rollback" if deployment.rollback else "release"
            item = QTreeWidgetItem(
                [
                    deployment.label,
                    format_moment(deployment.started),
                    deployment.deployed_by,
                    f"{kind}, current" if deployment.id == current_id else kind,
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, deployment.id)
            item.setToolTip(0, f"{deployment.digest}\n{deployment.comment}".strip())
            if deployment.id == current_id:
                # What runs now is no rollback target: shown for orientation only.
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                item.setToolTip(0, f"{deployment.digest}\nRuns in {self.environment} now.")
            self.list.addTopLevelItem(item)
        if choices.default is not None:
            self._select(choices.default.id)
        else:
            self.changes.setPlaceholderText(
                f"No release ran in {self.environment} before the current one."
            )

    def _select(self, deployment_id: int) -> None:
        for number in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(number)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == deployment_id:
                self.list.setCurrentItem(item)
                return

    def select_release(self, label: str) -> bool:
        """Select the newest selectable release named ``label`` (tag or short commit)."""
        for number in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(number)
            if (
                item is not None
                and item.text(0) == label
                and item.flags() & Qt.ItemFlag.ItemIsSelectable
            ):
                self.list.setCurrentItem(item)
                return True
        return False

    def chosen(self) -> Deployment | None:
        item = self.list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsSelectable:
            return None
        wanted = item.data(0, Qt.ItemDataRole.UserRole)
        return next((d for d in self.releases if d.id == wanted), None)

    def _picked(self) -> None:
        deployment = self.chosen()
        self.confirm_box.setChecked(False)
        if deployment is None:
            return
        self.confirm_box.setText(f"Yes, roll {self.environment} back to {deployment.label}")
        refused = self.refused.get(deployment.id)
        self.error_label.setText(refused or "")
        self.error_label.setVisible(refused is not None)
        self.changes.setPlainText("Reading what changes…")
        repo, environment = self.repo, self.environment
        self.calls.read(
            lambda service: service.changes_between(repo, environment, deployment),
            on_result=lambda changes: self._show_changes(deployment.id, changes),
            on_error=lambda message, _d: self.changes.setPlainText(message),
        )
        self._update_button()

    def _show_changes(self, deployment_id: int, changes: ReleaseChanges) -> None:
        chosen = self.chosen()
        if chosen is None or chosen.id != deployment_id:
            return  # another release was picked meanwhile
        was = f" from {self.current.label}" if self.current is not None else ""
        target = self.targets.get(chosen.id)
        where = f" on {target}" if target else ""
        heading = f"Rolling {self.environment} back{was} to {chosen.label}{where}"
        self.changes.setPlainText(f"{heading}\n{describe_changes(changes)}")

    def _update_button(self) -> None:
        chosen = self.chosen()
        ready = (
            chosen is not None
            and chosen.id not in self.refused
            and bool(self.comment.text().strip())
            and self.confirm_box.isChecked()
        )
        self.roll_button.setEnabled(ready)

    def submit(self) -> None:
        deployment = self.chosen()
        if deployment is None:
            return
        self.roll_button.setEnabled(False)
        self.roll_button.setText("Rolling back…")
        self.error_label.hide()
        repo, environment, comment = self.repo, self.environment, self.comment.text().strip()
        self.calls.change(
            "rolling back",
            lambda service: service.rollback(repo, environment, str(deployment.id), comment),
            on_result=self._done,
            on_error=lambda message, _d: self._show_error(message),
            on_waiting=self._waiting,
        )

    def _waiting(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _done(self, outcome: ReleaseOutcome) -> None:
        self.rolled_back.emit(outcome.message)
        self.accept()

    def _show_error(self, message: str) -> None:
        self.roll_button.setText("Roll back")
        self._update_button()
        self.error_label.setText(message)
        self.error_label.show()
