"""Start-up of the window: the Qt application, excepthooks, the main window."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from dockyard import __version__
from dockyard.core.errors import DockyardError
from dockyard.core.redaction import redact_standard_streams

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

# Python hands the GIL to a waiting thread only after this long, and the UI thread needs
# it again for every slot and every row it paints. With worker threads busy in Python,
# 5 ms slices add up to long freezes: with three such threads a 10 ms UI timer's worst
# gap measured 340 ms at 5 ms and 53 ms at 1 ms (median 16 -> 10 ms). The cost, more
# thread switches in workers, is small next to a window that keeps painting.
UI_SWITCH_INTERVAL_S = 0.001


def prefer_ui_thread() -> None:
    """Lets the UI thread get the interpreter back soon when worker threads compute, and
    paint without waiting for other threads (call it before the first paint)."""
    sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
    # Qt splits large fills (a log view's background) over a pool of helper threads and
    # the UI thread waits for them. When the CPUs are busy (pipelines streaming) the helpers
    # wait for a CPU, and so does the paint: up to 60 ms of a frame measured on 2 cores
    # (bench_ui_heartbeat), for fills that take a fraction of a millisecond on one thread.
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


def _has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_window(argv: list[str]) -> int:
    if not _has_display():
        print(
            "dockyard: no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY "
            "is set); start it from a desktop session, or use the command line: dockyard --help",
            file=sys.stderr,
        )
        return 3
    from PySide6.QtWidgets import QApplication

    from dockyard.ui import messages

    redact_standard_streams()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    prefer_ui_thread()
    app = QApplication([sys.argv[0], *argv])
    app.setApplicationName("Dockyard")
    app.setOrganizationName("Dockyard")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("dockyard")
    messages.install_excepthooks()
    try:
        _window = open_window(app)  # referenced until the event loop ends
    except DockyardError as exc:  # a damaged database, an unusable DOCKYARD_HOME
        print(f"dockyard: {exc.message}", file=sys.stderr)
        startup_failure(exc.message).exec()
        return exc.exit_code
    return int(app.exec())


def open_window(app: QApplication) -> QMainWindow:
    """The main window, shown; raises DockyardError when the home cannot be used.

    A starting window shows first (``ui/starting.py``), so the first paint does not wait
    for the main window's modules, then the main window replaces it.
    """
    from dockyard.ui.starting import StartingWindow

    starting = StartingWindow()
    starting.show_now(app)
    try:
        from dockyard.ui.mainwindow import MainWindow

        window = MainWindow()
        window.show()
    finally:
        starting.close()
    return window


def startup_failure(message: str) -> QMessageBox:
    """The dialog that says, in the store's own sentence, why the window cannot open."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Critical, "Dockyard", message)
    box.setAccessibleName("Start-up error")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to copy paths
    return box
