"""Terminal escape sequences in log text, and the text without them (what a user reads).

No sequence spans a newline, so ``strip_ansi`` works on many lines joined by "\\n" at once
and never removes or adds a line.
"""

from __future__ import annotations

import re

# Any CSI sequence (ESC [ params intermediates final), plus lone OSC/charset escapes
# that tools such as docker buildx or npm emit.
ESCAPE = re.compile(
    r"\x1b\[([0-?]*)([ -/]*)([@-~])"  # CSI
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC (titles, hyperlinks)
    r"|\x1b[()][0-9A-Za-z]"  # charset selection
    r"|\x1b[=>78NOM]"  # keypad modes, save/restore cursor, ...
)


def strip_ansi(text: str) -> str:
    """The text as plain text: every escape sequence removed."""
    if "\x1b" not in text:
        return text
    return ESCAPE.sub("", text)
