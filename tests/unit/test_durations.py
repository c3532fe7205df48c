"""Durations as written in dockyard.yml and settings."""

from __future__ import annotations

import pytest

from dockyard.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10m", 600.0),
        ("30s", 30.0),
        ("1h30m", 5400.0),
        ("2h", 7200.0),
        ("500ms", 0.5),
        ("1m500ms", 60.5),
        ("1d", 86400.0),
        ("2.5s", 2.5),
        (" 10M ", 600.0),
        ("90", 90.0),
        ("1.5", 1.5),
        (90, 90.0),
        (0, 0.0),
        (2.5, 2.5),
    ],
)
def test_parses_durations_people_write(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["soon", "", "m10", "10 minutes", "-5", "-5s", "1e3", "nan", "inf", "10x", "1h-30m"],
)
def test_rejects_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like 10m"):
        parse_duration(text)


@pytest.mark.parametrize("value", [True, False, -1, float("nan"), float("inf"), None, [1]])
def test_rejects_non_duration_values(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"), [(90, "1m30s"), (0.5, "500ms"), (3600, "1h"), (5400, "1h30m")]
)
def test_formats_durations_back(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
