"""ANSI SGR parsing for log lines: colours are rendered, not stripped.

Pure Python (no Qt) so it is testable on its own; the delegate maps the colour values
to QColor. A colour is either an int (0-255, the xterm 256-colour palette, where 0-15
are the basic and bright colours that themes may adapt) or an (r, g, b) tuple.
"""

from __future__ import annotations

from typing import NamedTuple

from dockyard.core.ansi import ESCAPE as _ESCAPE
from dockyard.core.ansi import strip_ansi

__all__ = ["Colour", "Segment", "expand_tabs", "parse_ansi", "strip_ansi", "xterm_rgb"]

Colour = int | tuple[int, int, int] | None


class Segment(NamedTuple):
    """A run of text drawn with one style."""

    text: str
    fg: Colour
    bg: Colour
    bold: bool


def parse_ansi(line: str) -> list[Segment]:
    """Splits a line into styled segments, applying SGR codes and dropping other escapes.

    Every line starts unstyled: styles do not carry over between lines (a log view
    shows lines in any order, and a reset lost in a split line must not colour the rest).
    """
    if "\x1b" not in line:
        return [Segment(line, None, None, False)] if line else []
    segments: list[Segment] = []
    fg: Colour = None
    bg: Colour = None
    bold = False
    pos = 0
    for match in _ESCAPE.finditer(line):
        if match.start() > pos:
            _add(segments, Segment(line[pos : match.start()], fg, bg, bold))
        pos = match.end()
        if match.group(3) == "m" and not match.group(2):
            fg, bg, bold = _apply_sgr(match.group(1), fg, bg, bold)
    if pos < len(line):
        _add(segments, Segment(line[pos:], fg, bg, bold))
    return segments


def expand_tabs(segments: list[Segment], tab_size: int = 8) -> list[Segment]:
    """Replaces tabs by spaces up to the next tab stop, counting columns across segments."""
    column = 0
    result: list[Segment] = []
    for segment in segments:
        text = segment.text
        if "\t" in text:
            pieces = []
            for char in text:
                if char == "\t":
                    width = tab_size - column % tab_size
                    pieces.append(" " * width)
                    column += width
                else:
                    pieces.append(char)
                    column += 1
            result.append(segment._replace(text="".join(pieces)))
        else:
            result.append(segment)
            column += len(text)
    return result


def _add(segments: list[Segment], segment: Segment) -> None:
    # Merge neighbours with the same style (e.g. redundant codes) so painting is cheaper.
    if segments and segments[-1][1:] == segment[1:]:
        segments[-1] = segments[-1]._replace(text=segments[-1].text + segment.text)
    else:
        segments.append(segment)


def _apply_sgr(params: str, fg: Colour, bg: Colour, bold: bool) -> tuple[Colour, Colour, bool]:
    codes = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            fg, bg, bold = None, None, False
        elif code == 1:
            bold = True
        elif code == 22:
            bold = False
        elif 30 <= code <= 37:
            fg = code - 30
        elif 90 <= code <= 97:
            fg = code - 90 + 8
        elif code == 39:
            fg = None
        elif 40 <= code <= 47:
            bg = code - 40
        elif 100 <= code <= 107:
            bg = code - 100 + 8
        elif code == 49:
            bg = None
        elif code in (38, 48):
            colour, i = _extended_colour(codes, i)
            if code == 38:
                fg = colour if colour is not None else fg
            else:
                bg = colour if colour is not None else bg
            continue
        i += 1
    return fg, bg, bold


def _extended_colour(codes: list[int], i: int) -> tuple[Colour, int]:
    """Reads `38;5;n` or `38;2;r;g;b` at codes[i]; returns the colour and the next index."""
    mode = codes[i + 1] if i + 1 < len(codes) else None
    if mode == 5 and i + 2 < len(codes):
        return max(0, min(255, codes[i + 2])), i + 3
    if mode == 2 and i + 4 < len(codes):
        r, g, b = (max(0, min(255, c)) for c in codes[i + 2 : i + 5])
        return (r, g, b), i + 5
    return None, len(codes)  # malformed: ignore the rest of this sequence


def xterm_rgb(index: int) -> tuple[int, int, int]:
    """RGB of an xterm 256-colour index from 16 up (cube and grey ramp)."""
    if index >= 232:
        level = 8 + (index - 232) * 10
        return level, level, level
    index -= 16
    steps = (0, 95, 135, 175, 215, 255)
    return steps[index // 36], steps[(index // 6) % 6], steps[index % 6]
