"""A real, small tmpfs for DOCKYARD_HOME, and a way to fill it to the last byte."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(folder: Path, size: str = "5m") -> Iterator[Path]:
    """``folder`` on a tmpfs of ``size`` (mounting needs root: skipped otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the disk-full tests run as root in CI")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill_up(folder: Path) -> None:
    """Take every byte left on the disk holding ``folder``."""
    with (folder / "filler").open("wb", buffering=0) as out:
        for chunk in (bytes(64 * 1024), b"x"):
            try:
                while True:
                    out.write(chunk)
            except OSError:
                pass
