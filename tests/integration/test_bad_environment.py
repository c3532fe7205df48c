"""A bad environment gets one clear sentence, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

from testbed.cli import run_dockyard


def test_no_display_says_so(dockyard_home: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = run_dockyard(dockyard_home, env=env)
    assert result.returncode == 3
    assert "no display" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_keyring_service_says_so(dockyard_home: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-bus"
    result = run_dockyard(
        dockyard_home, "secret", "set", str(tmp_path), "staging", "token", env=env, stdin="v\n"
    )
    assert result.returncode == 3, result.stderr
    assert "keyring is not available" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_daemon_for_hosts_test(dockyard_home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"}
    result = run_dockyard(dockyard_home, "hosts", "test", "local", env=env)
    assert result.returncode == 3
    assert "unreachable" in result.stderr and "start Docker" in result.stderr
    assert "Traceback" not in result.stderr
