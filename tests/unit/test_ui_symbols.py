"""Every symbol in the window is one of the app's icons, never an emoji or a dingbat: a
stock desktop's fonts may lack the glyph and paint a missing-glyph box instead."""

from __future__ import annotations

import unicodedata
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "desktop" / "dockyard" / "ui"


def test_the_window_draws_no_symbol_characters() -> None:
    found = [
        f"{path.relative_to(UI)}:{number}: {char!r} ({unicodedata.name(char, '?')})"
        for path in sorted(UI.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for char in line
        if unicodedata.category(char) == "So"  # emoji, dingbats, check marks, pins
    ]
    assert not found, "use ui.icons (resources/icons/*.svg) instead:\n" + "\n".join(found)
