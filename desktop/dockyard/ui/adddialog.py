"""Add a repository: a local folder or a git URL, checked in a worker before it is added."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dockyard.engine.gitsource import GitSource
from dockyard.engine.ledger_source import shared_location
from dockyard.store.database import Database
from dockyard.store.repositories import Repository, RepositoryStore
from dockyard.ui.theme import tones
from dockyard.ui.worker import TaskRunner


def validate_and_add(db: Database, home: Path, location: str) -> Repository:
    """Opens the repository as a run would (clones a URL), then records it; in team mode
    by its origin URL, where every member's clone meets."""
    source = GitSource(location, home)
    source.close()
    if db.dialect == "postgres":
        return RepositoryStore(db).add(shared_location(source.location))
    return RepositoryStore(db).add(source.location)


class AddRepositoryDialog(QDialog):
    added = Signal(object)  # Repository

    def __init__(
        self, tasks: TaskRunner, db: Database, home: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add repository")
        self.setAccessibleName("Add repository dialog")
        self.tasks = tasks
        self.db = db
        self.home = home

        self.location = QLineEdit()
        self.location.setAccessibleName("Repository location")
        self.location.setPlaceholderText("/path/to/repository or https://host/group/app.git")
        self.location.setMinimumWidth(420)
        browse = QPushButton("Browse…")
        browse.setAccessibleName("Browse for folder")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.location, 1)
        row.addWidget(browse)

        self.error_label = QLabel()
        self.error_label.setAccessibleName("Add repository error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {tones(self).error}")
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.add_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.add_button.setText("Add")
        self.add_button.setAccessibleName("Add")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("A local folder or a git URL (https, ssh, file):"))
        layout.addLayout(row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Repository folder")
        if folder:
            self.location.setText(folder)

    def submit(self) -> None:
        location = self.location.text().strip()
        if not location:
            self._show_error("Give a folder or a git URL.")
            return
        self.add_button.setEnabled(False)
        self.add_button.setText("Checking…")
        self.error_label.hide()
        self.tasks.submit(
            validate_and_add,
            self.db,
            self.home,
            location,
            on_result=self._added,
            on_error=lambda message, _details: self._show_error(message),
        )

    def _added(self, repository: Repository) -> None:
        self.added.emit(repository)
        self.accept()

    def _show_error(self, message: str) -> None:
        self.add_button.setEnabled(True)
        self.add_button.setText("Add")
        self.error_label.setText(message)
        self.error_label.show()
