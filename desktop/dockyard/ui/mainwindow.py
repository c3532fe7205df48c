"""The main window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dockyard import __version__
from dockyard.ui import messages
from dockyard.ui.endpointstatus import EndpointStatusBar
from dockyard.ui.worker import TaskRunner


class MainWindow(QMainWindow):
    def __init__(self, tasks: TaskRunner | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"Dockyard {__version__}")
        self.resize(1200, 760)
        self.tasks = tasks or TaskRunner(on_error=messages.error, parent=self)

        self.add_repository_action = QAction("Add repository…", self)
        self.add_repository_action.setShortcut(QKeySequence("Ctrl+Shift+A"))

        self.repositories = QListWidget()
        self.repositories.setAccessibleName("Repositories")
        self.empty_state = QLabel(
            "<h2>Welcome to Dockyard</h2><p>Add a git repository with a Dockerfile to build, "
            "test, deliver and deploy it.</p>"
        )
        self.empty_state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_state.setWordWrap(True)
        left = QStackedWidget()
        left.addWidget(self.empty_state)
        left.addWidget(self.repositories)

        splitter = QSplitter()
        splitter.addWidget(left)
        detail = QWidget()
        QVBoxLayout(detail).addWidget(QLabel("Select a repository to see its runs."))
        splitter.addWidget(detail)
        splitter.setSizes([300, 900])
        self.setCentralWidget(splitter)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.addAction(self.add_repository_action)

        self.endpoint_status = EndpointStatusBar(self.statusBar(), self.tasks, self)
        self.endpoint_status.refresh()
        messages.bus.error.connect(self.show_error)

    def show_error(self, message: str, details: str) -> None:
        self.statusBar().showMessage(message, 15_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Dockyard", message, parent=self)
        if details:
            box.setDetailedText(details)
        box.open()
