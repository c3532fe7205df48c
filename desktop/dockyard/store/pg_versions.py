"""psycopg's version modules, given before psycopg is imported, without package metadata.

psycopg and psycopg-binary each ask ``importlib.metadata`` for their own version as they
are imported (``psycopg/version.py``), only to show it: importing that module (with
``email``, ``zipfile`` and ``csv``) and scanning the installed packages costs every
team-mode command about 12 ms. ``preset`` reads the version from the name of the
``NAME-VERSION.dist-info`` folder beside each package instead; where there is none (another
layout), it leaves the module to psycopg, which then imports as usual.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

_PACKAGES = {"psycopg": "psycopg", "psycopg_binary": "psycopg_binary"}  # package: dist-info


def preset() -> None:
    """Give ``psycopg.version`` and ``psycopg_binary.version`` their ``__version__``;
    nothing once psycopg is imported."""
    if "psycopg" in sys.modules:
        return
    for package, distribution in _PACKAGES.items():
        version = _installed_version(package, distribution)
        if version is not None:
            module = types.ModuleType(f"{package}.version")
            module.__version__ = version  # type: ignore[attr-defined]
            sys.modules.setdefault(module.__name__, module)


def _installed_version(package: str, distribution: str) -> str | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.dirname(next(iter(spec.submodule_search_locations)))
    prefix, suffix = f"{distribution}-", ".dist-info"
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    found = [
        n[len(prefix) : -len(suffix)] for n in names if n.startswith(prefix) and n.endswith(suffix)
    ]
    return found[0] if len(found) == 1 else None  # two installs side by side: psycopg decides
