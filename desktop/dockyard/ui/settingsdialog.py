"""Settings: Docker endpoints (add, test, remove), registry credentials, the team ledger
and the identity this window acts as (not in team mode: there the server says who you are).

Endpoint changes go to this machine's database through ``EndpointRegistry`` (the CLI's
``dockyard hosts`` uses the same), in a worker; the identity is kept in the
window settings and used for the next action, without a restart.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dockyard.engine.endpoints.client import check_endpoint
from dockyard.engine.endpoints.contexts import ContextImport, import_contexts
from dockyard.engine.endpoints.registry import Endpoint, EndpointRegistry, EndpointStatus
from dockyard.engine.home import current_identity
from dockyard.engine.ledger_source import in_team_mode
from dockyard.ui import preferences
from dockyard.ui.icons import icon_html
from dockyard.ui.registrylogins import RegistryLoginsGroup
from dockyard.ui.teamsettings import TeamGroup
from dockyard.ui.worker import TaskRunner


def add_endpoint(home: Path, endpoint: Endpoint, replace: bool = False) -> list[Endpoint]:
    registry = EndpointRegistry(home)
    registry.add(endpoint, replace=replace)  # validates name, URL and files as the CLI does
    return registry.list()


def remove_endpoint(home: Path, name: str) -> list[Endpoint]:
    registry = EndpointRegistry(home)
    registry.remove(name)
    return registry.list()


def list_endpoints(home: Path) -> list[Endpoint]:
    return EndpointRegistry(home).list()


def import_docker_contexts(home: Path) -> tuple[list[ContextImport], list[Endpoint]]:
    registry = EndpointRegistry(home)
    return import_contexts(registry), registry.list()


def import_summary(results: list[ContextImport]) -> str:
    """One line for the dialog: what each context became."""
    if not results:
        return "No Docker contexts found (docker context ls)."
    return "Docker contexts: " + "; ".join(f"{r.name} {r.outcome}" for r in results) + "."


class SettingsDialog(QDialog):
    identity_changed = Signal(str)  # the name typed ("": the default)
    endpoints_changed = Signal()
    ledger_switched = Signal()

    def __init__(self, tasks: TaskRunner, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings dialog")
        self.tasks = tasks
        self.home = home
        self.endpoints: list[Endpoint] = []

        layout = QVBoxLayout(self)
        self.pages = QTabWidget()
        self.pages.setAccessibleName("Settings pages")
        self.pages.addTab(self._endpoints_group(), "Docker endpoints")
        self.registry_logins = RegistryLoginsGroup(tasks)
        self.pages.addTab(self.registry_logins, "Registries")
        self.team = TeamGroup(tasks, home)
        self.team.switched.connect(self._ledger_switched)
        team_page = QWidget()
        team_layout = QVBoxLayout(team_page)
        team_layout.addWidget(self.team)
        team_layout.addWidget(self._identity_group())
        team_layout.addStretch(1)
        self.pages.addTab(team_page, "Team")
        layout.addWidget(self.pages, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close settings")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 640)
        self.reload()
        self.registry_logins.reload()

    # ----- endpoints --------------------------------------------------------------

    def _endpoints_group(self) -> QGroupBox:
        group = QGroupBox("Docker endpoints")
        self.endpoint_list = QListWidget()
        self.endpoint_list.setAccessibleName("Endpoints")
        self.endpoint_list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.test_button = self._button("Test", "Test endpoint", self.test_selected)
        self.remove_button = self._button("Remove", "Remove endpoint", self.remove_selected)
        self.result_label = QLabel()
        self.result_label.setAccessibleName("Endpoint test result")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        self.import_button = self._button(
            "Import Docker contexts", "Import Docker contexts", self.import_contexts
        )
        row.addWidget(self.import_button)

        self.name_edit = self._edit("Endpoint name", "prod")
        self.url_edit = self._edit("Endpoint URL", "tcp://host:2376 or ssh://user@host")
        self.ca_edit = self._edit("TLS CA file", "ca.pem (tcp:// with TLS)")
        self.cert_edit = self._edit("TLS certificate file", "cert.pem")
        self.key_edit = self._edit("TLS key file", "key.pem")
        self.identity_file_edit = self._edit("SSH identity file", "private key (ssh://)")
        self.known_hosts_edit = self._edit("SSH known_hosts file", "default: ~/.ssh/known_hosts")
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("URL:", self.url_edit)
        for label, edit in (
            ("TLS CA:", self.ca_edit),
            ("TLS certificate:", self.cert_edit),
            ("TLS key:", self.key_edit),
            ("SSH identity:", self.identity_file_edit),
            ("SSH known_hosts:", self.known_hosts_edit),
        ):
            form.addRow(label, self._with_browse(edit))
        self.replace_box = QCheckBox("Replace an endpoint of the same name")
        self.replace_box.setAccessibleName("Replace an endpoint of the same name")
        form.addRow(self.replace_box)
        self.add_button = self._button("Add endpoint", "Add endpoint", self.add_from_form)

        layout = QVBoxLayout(group)
        layout.addWidget(self.endpoint_list, 1)
        layout.addLayout(row)
        layout.addWidget(self.result_label)
        layout.addLayout(form)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignRight)
        return group

    def _identity_group(self) -> QGroupBox:
        group = QGroupBox("Identity")
        self.identity_edit = QLineEdit(preferences.configured_identity())
        self.identity_edit.setAccessibleName("Identity")
        self.tasks.submit(current_identity, on_result=self._show_default_identity)
        self.identity_edit.editingFinished.connect(self.apply_identity)
        form = QFormLayout(group)
        form.addRow("Act as:", self.identity_edit)
        self.identity_note = QLabel()
        self.identity_note.setAccessibleName("Identity note")
        self.identity_note.setWordWrap(True)
        form.addRow(self.identity_note)
        self._show_identity_mode(in_team_mode(self.home))
        return group

    def show_team(self) -> None:
        self.pages.setCurrentIndex(self.pages.count() - 1)

    def _show_identity_mode(self, team: bool) -> None:
        self.identity_edit.setEnabled(not team)
        self.identity_note.setText(
            "In team mode the team server records who you are: the role you log in as. "
            "Act as and DOCKYARD_USER are ignored."
            if team
            else "Recorded as who started runs and who approved, rejected or rolled back; "
            "leave empty to use DOCKYARD_USER or your git e-mail."
        )

    def _ledger_switched(self, team: bool) -> None:
        self._show_identity_mode(team)
        self.ledger_switched.emit()

    def _button(self, text: str, accessible: str, slot: object) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(accessible)
        button.clicked.connect(slot)
        return button

    def _edit(self, accessible: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setAccessibleName(accessible)
        edit.setPlaceholderText(placeholder)
        return edit

    def _with_browse(self, edit: QLineEdit) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        browse = QPushButton("…")
        browse.setAccessibleName(f"Browse {edit.accessibleName()}")
        browse.setMaximumWidth(32)

        def pick() -> None:
            path, _filter = QFileDialog.getOpenFileName(self, edit.accessibleName())
            if path:
                edit.setText(path)

        browse.clicked.connect(pick)
        row.addWidget(browse)
        return box

    def reload(self) -> None:
        self.tasks.submit(list_endpoints, self.home, on_result=self._show_endpoints)

    def _show_endpoints(self, endpoints: list[Endpoint]) -> None:
        current = self.selected_endpoint()
        self.endpoints = endpoints
        self.endpoint_list.clear()
        for endpoint in endpoints:
            item = QListWidgetItem(f"{endpoint.name} — {endpoint.display_url}")
            item.setData(Qt.ItemDataRole.UserRole, endpoint.name)
            self.endpoint_list.addItem(item)
            if current is not None and endpoint.name == current.name:
                self.endpoint_list.setCurrentItem(item)
        self._update_buttons()

    def selected_endpoint(self) -> Endpoint | None:
        item = self.endpoint_list.currentItem()
        if item is None:
            return None
        name = item.data(Qt.ItemDataRole.UserRole)
        return next((e for e in self.endpoints if e.name == name), None)

    def select_endpoint(self, name: str) -> None:
        for number in range(self.endpoint_list.count()):
            item = self.endpoint_list.item(number)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                self.endpoint_list.setCurrentItem(item)

    def _update_buttons(self) -> None:
        endpoint = self.selected_endpoint()
        self.test_button.setEnabled(endpoint is not None)
        self.remove_button.setEnabled(endpoint is not None and endpoint.name != "local")

    def add_from_form(self) -> None:
        endpoint = Endpoint(
            name=self.name_edit.text().strip(),
            url=self.url_edit.text().strip(),
            tls_ca=self.ca_edit.text().strip(),
            tls_cert=self.cert_edit.text().strip(),
            tls_key=self.key_edit.text().strip(),
            ssh_identity=self.identity_file_edit.text().strip(),
            ssh_known_hosts=self.known_hosts_edit.text().strip(),
        )
        if not endpoint.name or not endpoint.url:
            self.result_label.setText("Give the endpoint a name and a URL.")
            return

        def added(endpoints: list[Endpoint]) -> None:
            self._show_endpoints(endpoints)
            self.select_endpoint(endpoint.name)
            for edit in self._form_edits():
                edit.clear()
            self.replace_box.setChecked(False)
            self.result_label.setText(f"Added {endpoint.name}; testing it…")
            self.endpoints_changed.emit()
            self.test_selected()

        self.tasks.submit(
            add_endpoint,
            self.home,
            endpoint,
            self.replace_box.isChecked(),
            on_result=added,
            on_error=self._show_failure,
        )

    def _form_edits(self) -> tuple[QLineEdit, ...]:
        return (
            self.name_edit, self.url_edit, self.ca_edit, self.cert_edit, self.key_edit,
            self.identity_file_edit, self.known_hosts_edit,
        )  # fmt: skip

    def import_contexts(self) -> None:
        """Reads ~/.docker in a worker; refreshes imported endpoints, keeps hand-made ones."""
        self.import_button.setEnabled(False)
        self.result_label.setText("Importing Docker contexts…")

        def imported(outcome: tuple[list[ContextImport], list[Endpoint]]) -> None:
            results, endpoints = outcome
            self.import_button.setEnabled(True)
            self._show_endpoints(endpoints)
            self.result_label.setText(import_summary(results))
            self.endpoints_changed.emit()

        def failed(message: str, details: str) -> None:
            self.import_button.setEnabled(True)
            self._show_failure(message, details)

        self.tasks.submit(import_docker_contexts, self.home, on_result=imported, on_error=failed)

    def remove_selected(self) -> None:
        endpoint = self.selected_endpoint()
        if endpoint is None or endpoint.name == "local":
            return

        def removed(endpoints: list[Endpoint]) -> None:
            self._show_endpoints(endpoints)
            self.result_label.setText(f"Removed {endpoint.name}.")
            self.endpoints_changed.emit()

        self.tasks.submit(
            remove_endpoint,
            self.home,
            endpoint.name,
            on_result=removed,
            on_error=self._show_failure,
        )

    def test_selected(self) -> None:
        endpoint = self.selected_endpoint()
        if endpoint is None:
            return
        self.test_button.setEnabled(False)
        self.result_label.setText(f"Testing {endpoint.name}…")
        self.tasks.submit(check_endpoint, endpoint, on_result=self._tested, abandon_at_exit=True)

    def _tested(self, status: EndpointStatus) -> None:
        self._update_buttons()
        mark = icon_html("status-succeeded" if status.ok else "status-failed")
        state = "connected" if status.ok else "unreachable"
        self.result_label.setText(f"{mark} {escape(f'{status.name}: {state} — {status.message}')}")

    def _show_failure(self, message: str, _details: str) -> None:
        self.result_label.setText(message)

    # ----- identity ---------------------------------------------------------------

    def _show_default_identity(self, name: str) -> None:
        self.identity_edit.setPlaceholderText(f"default: {name}")

    def apply_identity(self) -> None:
        name = self.identity_edit.text().strip()
        if name == preferences.configured_identity():
            return
        preferences.set_identity(name)
        self.identity_changed.emit(name)
