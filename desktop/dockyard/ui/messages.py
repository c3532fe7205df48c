"""One message bridge: code anywhere reports, the window listens to one signal.

(qutebrowser's ``utils/message.py``.) Worker errors, engine failures and unhandled
exceptions all end up here; the main window shows them in the status bar and a dialog.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Signal

from dockyard.core.redaction import redact
from dockyard.store.failures import store_failure

log = logging.getLogger("dockyard.ui")


class MessageBus(QObject):
    error = Signal(str, str)  # one-sentence message, details
    info = Signal(str)


bus = MessageBus()


def error(message: str, details: str = "") -> None:
    message, details = redact(message), redact(details)
    log.error("%s", message)
    bus.error.emit(message, details)


def info(message: str) -> None:
    message = redact(message)
    log.info("%s", message)
    bus.info.emit(message)


def install_excepthooks() -> None:
    """Route exceptions of the UI thread and of plain threads to the message bus."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        details = redact("".join(traceback.format_exception(kind, value, tb)))
        failure = store_failure(value)  # a full disk or a damaged database
        if failure is not None:
            log.error("%s", failure.message)
            bus.error.emit(redact(failure.message), details)
            return
        log.error("unhandled exception:\n%s", details)
        bus.error.emit(redact(f"Unexpected error: {value}. Details are in the log."), details)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook
