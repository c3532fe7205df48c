"""Settings → Registries: log in to a registry, see who you are, forget it.

The password goes straight to the OS keyring (``engine.endpoints.registry_auth``) and is never
shown again: the list says only "logged in as USER". The keyring cannot list its
entries: the list is the engine's (``dockyard_logins``, which also knows the logins made
with ``dockyard registry login``), each checked in the keyring. Every keyring call runs in
a worker: it may ask to unlock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVarTuple

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dockyard.engine.endpoints.registry_auth import (
    dockyard_logins,
    forget_login,
    store_login,
    stored_login,
)
from dockyard.ui import preferences
from dockyard.ui.worker import TaskRunner

Ts = TypeVarTuple("Ts")

# Where windows before the engine's list remembered the registries they logged in to.
KNOWN_KEY = "registries/logins"
HOST_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class RegistryLogin:
    registry: str
    username: str  # never the password


def _remembered_by_older_windows() -> set[str]:
    value: object = preferences.window_settings().value(KNOWN_KEY, []) or []
    # An INI file gives a lone entry back as a string, not as a one-item list.
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return {str(name) for name in names if name}


def read_logins() -> list[RegistryLogin]:
    """The registries with a Dockyard login that still have credentials in the keyring."""
    logins = []
    for host in sorted(set(dockyard_logins()) | _remembered_by_older_windows()):
        stored = stored_login(host)
        if stored is not None:
            logins.append(RegistryLogin(host, stored["username"]))
    return logins


def log_in(registry: str, username: str, password: str) -> list[RegistryLogin]:
    store_login(registry, username, password)
    return read_logins()


def log_out(registry: str) -> list[RegistryLogin]:
    forget_login(registry)
    return read_logins()


class RegistryLoginsGroup(QGroupBox):
    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Registry credentials", parent)
        self.tasks = tasks
        self.loaded = False
        self.busy = False

        self.logins = QListWidget()
        self.logins.setAccessibleName("Registry logins")
        self.logins.setMaximumHeight(90)
        self.logins.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.registry_edit = QLineEdit()
        self.registry_edit.setAccessibleName("Registry")
        self.registry_edit.setPlaceholderText("e.g. registry.example.com or localhost:5000")
        self.user_edit = QLineEdit()
        self.user_edit.setAccessibleName("Registry user")
        self.password_edit = QLineEdit()
        self.password_edit.setAccessibleName("Registry password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.returnPressed.connect(self.log_in)
        self.login_button = QPushButton("Log in")
        self.login_button.setAccessibleName("Log in to registry")
        self.login_button.clicked.connect(self.log_in)
        self.forget_button = QPushButton("Forget")
        self.forget_button.setAccessibleName("Forget registry login")
        self.forget_button.clicked.connect(self.forget_selected)
        self.result_label = QLabel()
        self.result_label.setAccessibleName("Registry result")
        self.result_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Registry:", self.registry_edit)
        form.addRow("User:", self.user_edit)
        form.addRow("Password:", self.password_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.result_label, 1)
        buttons.addWidget(self.forget_button)
        buttons.addWidget(self.login_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.logins)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self._update_buttons()

    def reload(self) -> None:
        self._submit(read_logins)

    def log_in(self) -> None:
        registry = self.registry_edit.text().strip()
        user = self.user_edit.text().strip()
        password = self.password_edit.text()
        # The password leaves the widget at once; only the keyring keeps it.
        self.password_edit.clear()
        self._submit(log_in, registry, user, password, done=f"Logged in to {registry}.")

    def forget_selected(self) -> None:
        item = self.logins.currentItem()
        if item is None:
            return
        host = str(item.data(HOST_ROLE))
        self._submit(log_out, host, done=f"Forgot the login for {host}.")

    def _submit(self, fn: Callable[[*Ts], list[RegistryLogin]], *args: *Ts, done: str = "") -> None:
        self.busy = True
        self._update_buttons()

        def shown(logins: list[RegistryLogin]) -> None:
            self.busy = False
            self.loaded = True
            self._show(logins)
            self.result_label.setText(done)

        def failed(message: str, _details: str) -> None:
            self.busy = False
            self.loaded = True
            self.result_label.setText(message)
            self._update_buttons()

        self.tasks.submit(fn, *args, on_result=shown, on_error=failed)

    def _show(self, logins: list[RegistryLogin]) -> None:
        self.logins.clear()
        for login in logins:
            item = QListWidgetItem(f"{login.registry} — logged in as {login.username}")
            item.setData(HOST_ROLE, login.registry)
            self.logins.addItem(item)
        if not logins:
            placeholder = QListWidgetItem("No registry logins: pushes use your docker login.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.logins.addItem(placeholder)
        self._update_buttons()

    def shown_logins(self) -> list[str]:
        found = (self.logins.item(n) for n in range(self.logins.count()))
        return [item.text() for item in found if item is not None]

    def _update_buttons(self) -> None:
        item = self.logins.currentItem()
        self.login_button.setEnabled(not self.busy)
        self.forget_button.setEnabled(
            not self.busy and item is not None and item.data(HOST_ROLE) is not None
        )
