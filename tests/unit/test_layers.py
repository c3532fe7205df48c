"""The core layers never import Qt (docs/architecture.md: core, engine, store work without it)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import dockyard

DESKTOP = Path(dockyard.__file__).resolve().parent.parent


def _modules(layer: str) -> list[str]:
    package = Path(dockyard.__file__).parent / layer
    return [f"dockyard.{layer}.{m.name}" for m in pkgutil.iter_modules([str(package)])]


def test_core_engine_and_store_import_without_qt() -> None:
    modules = [m for layer in ("core", "engine", "store") for m in _modules(layer)]
    assert len(modules) > 10
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "qt = sorted(m for m in sys.modules if m.startswith('PySide6'))\n"
        "print(','.join(qt))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(DESKTOP), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Qt imported by the core layers: {result.stdout}"
