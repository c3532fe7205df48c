"""The desktop entry and AppStream metadata are valid (as distributions will check them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (make test installs it)")
    return path


def test_desktop_entry_is_valid() -> None:
    result = subprocess.run(
        [_tool("desktop-file-validate"), str(PACKAGING / "dockyard.desktop")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_appstream_metainfo_is_valid() -> None:
    result = subprocess.run(
        [
            _tool("appstreamcli"),
            "validate",
            "--no-net",
            str(PACKAGING / "io.github.dockyard.Dockyard.metainfo.xml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
