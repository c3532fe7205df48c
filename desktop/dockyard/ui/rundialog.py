""" "Run pipeline…": pick a branch, tag or commit; the choices are read from git in a worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from dockyard.engine.gitsource import GitSource
from dockyard.ui.worker import TaskRunner


@dataclass(frozen=True)
class RefChoice:
    name: str
    kind: str  # "branch" | "tag"
    summary: str  # short sha and subject


def list_refs(location: str, home: Path) -> list[RefChoice]:
    """Branches (current first) then tags (newest first)."""
    with GitSource(location, home) as source:
        repo = source.repo
        choices: list[RefChoice] = []
        current = None if repo.head.is_detached or not repo.heads else repo.head.reference.name
        heads = sorted(repo.heads, key=lambda head: (head.name != current, head.name))
        for head in heads:
            commit = head.commit
            choices.append(RefChoice(head.name, "branch", _summary(commit)))
        tags = sorted(repo.tags, key=lambda tag: tag.commit.committed_date, reverse=True)
        for tag in tags:
            choices.append(RefChoice(tag.name, "tag", _summary(tag.commit)))
        return choices


def _summary(commit: object) -> str:
    message = str(getattr(commit, "message", "")).strip().splitlines()
    return f"{str(getattr(commit, 'hexsha', ''))[:7]} {message[0] if message else ''}".strip()


class RunPipelineDialog(QDialog):
    run_requested = Signal(str, str)  # location, ref

    def __init__(
        self,
        tasks: TaskRunner,
        home: Path,
        location: str,
        name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Run pipeline — {name}")
        self.setAccessibleName("Run pipeline dialog")
        self.location = location
        self.loaded = False

        self.ref = QComboBox()
        self.ref.setEditable(True)
        self.ref.setAccessibleName("Ref")
        self.ref.setMinimumWidth(380)
        self.ref.setPlaceholderText("branch, tag or commit")
        self.status = QLabel("Reading branches and tags…")
        self.status.setAccessibleName("Ref status")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.run_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.run_button.setText("Run")
        self.run_button.setAccessibleName("Run")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Branch, tag or commit:", self.ref)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        tasks.submit(
            list_refs, location, home, on_result=self._loaded, on_error=self._failed_to_load
        )

    def _loaded(self, choices: list[RefChoice]) -> None:
        typed = self.ref.currentText()
        self.ref.clear()
        for choice in choices:
            self.ref.addItem(f"{choice.name}  ({choice.kind}: {choice.summary})", choice.name)
        if typed:
            self.ref.setEditText(typed)
        self.status.setText(f"{len(choices)} branches and tags; or type a commit id.")
        self.loaded = True

    def _failed_to_load(self, message: str, _details: str) -> None:
        self.status.setText(message)
        self.loaded = True

    def select_ref(self, name: str) -> None:
        number = self.ref.findData(name)
        if number >= 0:
            self.ref.setCurrentIndex(number)
        else:
            self.ref.setEditText(name)

    def chosen_ref(self) -> str:
        number = self.ref.currentIndex()
        text = self.ref.currentText().strip()
        if number >= 0 and self.ref.itemText(number) == text:
            return str(self.ref.itemData(number))
        return text.split("  (", 1)[0].strip()

    def submit(self) -> None:
        ref = self.chosen_ref()
        if not ref:
            self.status.setText("Give a branch, tag or commit to run.")
            return
        self.run_requested.emit(self.location, ref)
        self.accept()
