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


def test_package_data_patterns_cover_every_resource() -> None:
    """The wheel carries the icons: pyproject's package-data globs match each resource file."""
    import tomllib

    root = PACKAGING.parent
    package = root / "desktop" / "dockyard"
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["dockyard"]
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    resources = {path for path in (package / "resources").rglob("*") if path.is_file()}
    assert resources, "no resources found in the package"
    assert resources <= shipped, sorted(str(p) for p in resources - shipped)


def test_icons_load_from_the_package_folder() -> None:
    from dockyard.ui.icons import ICON_FOLDER

    assert (ICON_FOLDER / "dockyard.svg").is_file()
    assert ICON_FOLDER.is_relative_to(PACKAGING.parent / "desktop" / "dockyard")


def test_version_line_names_version_and_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    import dockyard

    monkeypatch.setattr(dockyard, "__version__", "1.2.4.dev3+gabc1234")
    monkeypatch.setattr(dockyard, "__commit_id__", "gabc1234")
    assert dockyard.version_line() == "dockyard 1.2.4.dev3+gabc1234 (commit abc1234)"
    monkeypatch.setattr(dockyard, "__commit_id__", None)
    assert dockyard.version_line() == "dockyard 1.2.4.dev3+gabc1234"


def test_version_comes_from_the_build_not_a_constant() -> None:
    """`pip install` wrote dockyard/_version.py from git (setuptools-scm), with the commit."""
    import re

    from dockyard import _version

    assert re.fullmatch(r"\d+\.\d+(\.\d+)?\S*", _version.__version__), _version.__version__
    assert re.fullmatch(r"g?[0-9a-f]{7,40}", _version.__commit_id__ or ""), _version.__commit_id__


def test_dockyard_version_prints_version_and_commit() -> None:
    import sys

    import dockyard

    result = subprocess.run(
        [sys.executable, "-m", "dockyard", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == dockyard.version_line()
    assert "(commit " in result.stdout
