"""The window shown at once when Dockyard starts, at the place and size the main window
had, while the main window's modules load (the pipeline engine, Docker's SDK, GitPython:
about half a second); the main window takes its place when it is built."""

from __future__ import annotations

import time

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from dockyard import __version__
from dockyard.ui import preferences
from dockyard.ui.icons import icon

EXPOSE_WAIT_S = 0.5  # a window server that does not show the window by then is not waited for


class StartingWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(f"Dockyard {__version__}")
        self.setWindowIcon(icon("dockyard"))
        self.setObjectName("starting-window")
        self.resize(1280, 800)
        geometry = preferences.window_settings().value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        label = QLabel("Opening Dockyard…")
        label.setAccessibleName("Starting")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(label)

    def show_now(self, app: QApplication) -> None:
        """Shows and paints it before returning: the caller is about to keep the UI thread
        busy loading the main window."""
        self.show()
        handle = self.windowHandle()
        deadline = time.monotonic() + EXPOSE_WAIT_S
        while not (handle and handle.isExposed()) and time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
        self.repaint()
        app.processEvents()
