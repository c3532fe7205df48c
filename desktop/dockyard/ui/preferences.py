"""Window preferences (geometry, identity) kept beside Dockyard's data.

QSettings in an INI file under ``DOCKYARD_HOME``: one place for everything Dockyard
keeps, and tests with their own home never touch the user's settings.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from dockyard.engine.home import dockyard_home

IDENTITY_KEY = "identity/name"


def window_settings() -> QSettings:
    return QSettings(str(dockyard_home() / "window.ini"), QSettings.Format.IniFormat)


def configured_identity() -> str:
    """The identity typed in Settings; "" when the user did not set one."""
    return str(window_settings().value(IDENTITY_KEY, "") or "").strip()


def set_identity(name: str) -> None:
    settings = window_settings()
    settings.setValue(IDENTITY_KEY, name.strip())
    settings.sync()
