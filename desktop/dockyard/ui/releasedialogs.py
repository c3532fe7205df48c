"""Approve / Reject and Rollback dialogs; the engine call runs in a worker.

A refusal (self-approval, a missing comment, a pin) comes back as the engine's one
sentence and is shown in the dialog, which stays open so the user can read it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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

from dockyard.core.errors import DockyardError
from dockyard.core.releases import ApprovalRequest, Deployment
from dockyard.engine.gitsource import GitSource, ResolvedRef
from dockyard.engine.release_results import ReleaseChanges
from dockyard.engine.releases import ReleaseService
from dockyard.store.database import Database
from dockyard.ui.runsmodel import format_moment
from dockyard.ui.theme import tones
from dockyard.ui.worker import TaskRunner


class ReleaseCalls:
    """What a dialog needs to call the release engine as the current identity."""

    def __init__(
        self, tasks: TaskRunner, home: Path, db: Database, identity: Callable[[], str]
    ) -> None:
        self.tasks = tasks
        self.home = home
        self.db = db
        self.identity = identity

    def service(self) -> ReleaseService:
        return ReleaseService(home=self.home, db=self.db, identity=self.identity())

    def submit(
        self,
        method: str,
        *args: Any,
        on_result: Callable[[Any], None],
        on_error: Callable[[str, str], None],
    ) -> None:
        service = self.service()
        self.tasks.submit(getattr(service, method), *args, on_result=on_result, on_error=on_error)


def rollback_changes(
    service: ReleaseService, repo: str, environment: str, target: Deployment
) -> tuple[ReleaseChanges, list[ResolvedRef]]:
    """What a rollback changes: the engine's diff, plus the commits it takes away."""
    changes = service.changes_between(repo, environment, target)
    current = service.ledger.current_deployment(repo, environment)
    removed: list[ResolvedRef] = []
    if current is not None and current.commit != target.commit:
        try:
            source = GitSource(repo, service.home, fetch=False)
            removed = source.commits_between(target.commit, current.commit)
        except DockyardError:
            removed = []
    return changes, removed


def describe_changes(changes: ReleaseChanges, heading: str = "commit(s) it brings") -> str:
    lines = [f"{len(changes.commits)} {heading}:"]
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

    def __init__(
        self,
        calls: ReleaseCalls,
        repo: str,
        request: ApprovalRequest,
        approve: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.calls = calls
        self.repo = repo
        self.request = request
        self.approve = approve
        verb = "Approve" if approve else "Reject"
        label = request.tag or request.commit[:12]
        self.setWindowTitle(f"{verb} {label} for {request.environment}")
        self.setAccessibleName(f"{verb} dialog")
        intro = QLabel(
            f"<b>{verb} {label}</b> for <b>{request.environment}</b> as "
            f"<b>{calls.identity()}</b><br>digest {request.digest}<br>"
            f"requested by {request.requested_by}"
        )
        intro.setWordWrap(True)
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
        method = "approve" if self.approve else "reject"
        self.calls.submit(
            method,
            self.repo,
            self.request.environment,
            comment,
            on_result=self._done,
            on_error=lambda message, _details: self._refused(message),
        )

    def _done(self, _outcome: object) -> None:
        self.decided.emit()
        self.accept()

    def _refused(self, message: str) -> None:
        self.confirm.setEnabled(True)
        self.error_label.setText(message)
        self.error_label.show()


class RollbackDialog(QDialog):
    """Pick an earlier release, see what changes, give a reason and confirm."""

    rolled_back = Signal(str)  # the engine's message

    def __init__(
        self, calls: ReleaseCalls, repo: str, environment: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.calls = calls
        self.repo = repo
        self.environment = environment
        self.releases: list[Deployment] = []
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

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Earlier releases of <b>{environment}</b>:"))
        layout.addWidget(self.list, 1)
        layout.addWidget(self.changes, 1)
        layout.addWidget(self.comment)
        layout.addWidget(self.confirm_box)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.resize(640, 560)
        self._update_button()
        calls.submit(
            "releases",
            repo,
            environment,
            on_result=self._listed,
            on_error=lambda message, _d: self._show_error(message),
        )

    def _listed(self, releases: object) -> None:
        assert isinstance(releases, list)
        self.releases = releases
        self.loaded = True
        for deployment in releases:
            item = QTreeWidgetItem(
                [
                    deployment.tag or deployment.commit[:12],
                    format_moment(deployment.started),
                    deployment.deployed_by,
                    "rollback" if deployment.rollback else "release",
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, deployment.id)
            item.setToolTip(0, f"{deployment.digest}\n{deployment.comment}".strip())
            self.list.addTopLevelItem(item)

    def select_release(self, label: str) -> bool:
        """Select the newest earlier release named ``label`` (tag or short commit)."""
        for number in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(number)
            if item is not None and item.text(0) == label:
                self.list.setCurrentItem(item)
                return True
        return False

    def chosen(self) -> Deployment | None:
        item = self.list.currentItem()
        if item is None:
            return None
        wanted = item.data(0, Qt.ItemDataRole.UserRole)
        return next((d for d in self.releases if d.id == wanted), None)

    def _picked(self) -> None:
        deployment = self.chosen()
        self.confirm_box.setChecked(False)
        if deployment is None:
            return
        label = deployment.tag or deployment.commit[:12]
        self.confirm_box.setText(f"Yes, roll {self.environment} back to {label}")
        self.changes.setPlainText("Reading what changes…")
        self.calls.tasks.submit(
            rollback_changes,
            self.calls.service(),
            self.repo,
            self.environment,
            deployment,
            on_result=lambda changes: self._show_changes(deployment.id, changes),
            on_error=lambda message, _d: self.changes.setPlainText(message),
        )
        self._update_button()

    def _show_changes(self, deployment_id: int, result: object) -> None:
        chosen = self.chosen()
        if chosen is None or chosen.id != deployment_id or not isinstance(result, tuple):
            return
        changes, removed = result
        lines = [f"Rolling back {self.environment} to {chosen.tag or chosen.commit[:12]}"]
        lines.append(f"{len(removed)} commit(s) it takes away:")
        lines += [f"  {c.commit[:7]} {c.message} — {c.author.split(' <')[0]}" for c in removed]
        lines.append(describe_changes(changes))
        self.changes.setPlainText("\n".join(lines))

    def _update_button(self) -> None:
        ready = (
            self.chosen() is not None
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
        self.calls.submit(
            "rollback",
            self.repo,
            self.environment,
            str(deployment.id),
            self.comment.text().strip(),
            on_result=self._done,
            on_error=lambda message, _d: self._show_error(message),
        )

    def _done(self, outcome: object) -> None:
        self.rolled_back.emit(str(getattr(outcome, "message", "")))
        self.accept()

    def _show_error(self, message: str) -> None:
        self.roll_button.setText("Roll back")
        self._update_button()
        self.error_label.setText(message)
        self.error_label.show()
