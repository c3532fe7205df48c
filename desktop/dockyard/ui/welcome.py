"""The right side of the window until there is a repository: what Dockyard does, and
the two ways to start (add one of yours, or create the sample)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from dockyard.ui.icons import icon

_TEXT = (
    "<h2>Welcome to Dockyard</h2>"
    "<p>Dockyard builds, tests, delivers and deploys Docker images from your git "
    "repositories, on your own Docker daemon or a remote one.</p>"
    # Paragraphs, not <ul>: QLabel under-reports the height of a rich-text list.
    "<p>• <b>Build once</b>: each commit becomes one image, tested and pushed, "
    "then known by its digest.</p>"
    "<p>• <b>Promote the same image</b>: staging and production receive exactly that "
    "digest, automatically or after a recorded approval.</p>"
    "<p>• <b>Roll back with a reason</b>: a release that ran in an environment goes back "
    "in one step, "
    "and the audit trail says who did what, and why.</p>"
    "<p>Add a git repository with a Dockerfile, or create a small sample repository to "
    "see the whole flow in a minute.</p>"
)


class WelcomePage(QWidget):
    """Shown instead of the repository tabs while no repository is selected."""

    add_requested = Signal()
    sample_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        logo = QLabel()
        logo.setPixmap(icon("dockyard").pixmap(72, 72))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(_TEXT)
        text.setAccessibleName("Welcome")
        text.setWordWrap(True)
        text.setFixedWidth(560)
        text.setTextFormat(Qt.TextFormat.RichText)
        self.add_button = QPushButton(icon("add"), "Add repository…")
        self.add_button.setAccessibleName("Add repository (welcome)")
        self.add_button.clicked.connect(self.add_requested.emit)
        self.add_button.setDefault(True)
        self.sample_button = QPushButton("Create sample repository")
        self.sample_button.setAccessibleName("Create sample repository")
        self.sample_button.clicked.connect(self.sample_requested.emit)
        self.sample_status = QLabel()
        self.sample_status.setAccessibleName("Sample status")
        self.sample_status.setWordWrap(True)
        self.sample_status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for button in (self.add_button, self.sample_button):
            button.setMinimumWidth(260)

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(logo)
        # Centred by stretches, not by an alignment flag: an aligned widget gets its
        # size hint, not its height for width, and the wrapped text would be cut off.
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(text)
        centred.addStretch(1)
        layout.addLayout(centred)
        layout.addSpacing(12)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.sample_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.sample_status)
        layout.addStretch(2)

    def show_sample_state(self, busy: bool, message: str) -> None:
        """While the sample is being created its button is off and a line says so."""
        self.sample_button.setEnabled(not busy)
        self.sample_status.setText(message)
