"""ANSI colour parsing: the colours a build tool prints are the colours the log shows."""

from __future__ import annotations

from dockyard.ui.logview.ansi import Segment, expand_tabs, parse_ansi, strip_ansi


def test_plain_text_is_one_unstyled_segment() -> None:
    assert parse_ansi("hello") == [Segment("hello", None, None, False)]
    assert parse_ansi("") == []


def test_basic_bright_and_reset() -> None:
    line = "\x1b[31mred\x1b[0m plain \x1b[1;94mbold bright blue\x1b[22m not bold"
    assert parse_ansi(line) == [
        Segment("red", 1, None, False),
        Segment(" plain ", None, None, False),
        Segment("bold bright blue", 12, None, True),
        Segment(" not bold", 12, None, False),
    ]


def test_backgrounds_and_extended_colours() -> None:
    line = "\x1b[41;97mA\x1b[38;5;208mB\x1b[48;2;10;20;30mC\x1b[39;49mD\x1b[103mE"
    assert parse_ansi(line) == [
        Segment("A", 15, 1, False),
        Segment("B", 208, 1, False),
        Segment("C", 208, (10, 20, 30), False),
        Segment("D", None, None, False),
        Segment("E", None, 11, False),
    ]


def test_other_escapes_are_removed_not_shown() -> None:
    line = "\x1b[2K\x1b[1Gprogress \x1b]0;title\x07done\x1b[?25h"
    assert parse_ansi(line) == [Segment("progress done", None, None, False)]
    assert strip_ansi(line) == "progress done"
    assert strip_ansi("a\x1b[31mb\n\x1b[0mc") == "ab\nc"


def test_malformed_codes_do_not_raise() -> None:
    assert parse_ansi("\x1b[38;5mX\x1b[38;2;1mY\x1b[;mZ") == [Segment("XYZ", None, None, False)]


def test_tabs_expand_across_segments() -> None:
    segments = expand_tabs(parse_ansi("ab\x1b[32mc\td\x1b[0m\te"))
    assert "".join(s.text for s in segments) == "abc     d       e"
