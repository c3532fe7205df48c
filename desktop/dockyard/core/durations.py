"""Durations as people write them in dockyard.yml: ``10m``, ``1h30m``, ``500ms`` or seconds.

Kept apart from the pipeline file so settings, the CLI and the engine read durations the
same way.
"""

from __future__ import annotations

import math
import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# "ms" must be tried before "m", or "500ms" would read as 500 minutes and a stray "s".
_PART = r"(\d+(?:\.\d+)?)(ms|s|m|h|d)"
_WHOLE = re.compile(rf"(?:{_PART})+")
_PARTS = re.compile(_PART)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_duration(text: str | int | float) -> float:
    """Return the duration in seconds; raise ValueError for anything that is not one.

    Accepts a plain non-negative number (seconds, also as a string such as ``"90"``) or
    one or more number+unit parts with units ms, s, m, h, d: ``"1h30m"``, ``"2.5s"``.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like 10m, got {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    elif isinstance(text, str):
        seconds = _parse_text(text.strip().lower())
    else:
        raise ValueError(f"expected a duration like 10m, got {text!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"expected a duration like 10m, got {text!r}")
    return seconds


def _parse_text(text: str) -> float:
    if _NUMBER.fullmatch(text):
        return float(text)
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"expected a duration like 10m, got {text!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PARTS.findall(text))


def format_duration(seconds: float) -> str:
    """Render seconds the way a user would write them (``90`` -> ``"1m30s"``), for messages."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"
