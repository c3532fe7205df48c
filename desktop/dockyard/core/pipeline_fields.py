"""Typed reading of the YAML nodes of dockyard.yml, every error naming file, line and key.

ruamel's round-trip loader keeps the position of every key and list item; this module
turns "the value at this place must be a string" into one clear sentence pointing there,
so the section parsers in ``pipeline_file`` read like a description of the format.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from dockyard.core.durations import parse_duration
from dockyard.core.errors import UserInputError

T = TypeVar("T")

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


class PipelineFileError(UserInputError):
    """A dockyard.yml that cannot be used, with where and what: ``file:line: key: problem``."""

    def __init__(self, file: str, line: int | None, key: str, problem: str) -> None:
        where = file if line is None else f"{file}:{line}"
        text = f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
        super().__init__(text if text.endswith((".", "?")) else text + ".")
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Located:
    """A value from the file with its dotted key and 1-based line (None when unknown)."""

    value: Any
    key: str
    line: int | None


def describe(value: object) -> str:
    """How a found value is named in messages: what the user typed, or its kind."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return str(value)


class FieldReader:
    """Reads values of one file; knows the file name for the errors it raises."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def error(self, at: Located, problem: str) -> PipelineFileError:
        return PipelineFileError(self.filename, at.line, at.key, problem)

    def expected(self, at: Located, what: str) -> PipelineFileError:
        return self.error(at, f"expected {what}, got {describe(at.value)}")

    def mapping(self, at: Located, allowed: Sequence[str] | None = None) -> dict[str, Located]:
        """The entries of a mapping (null counts as empty), in file order.

        With ``allowed``, any other key is an error suggesting the closest allowed one,
        except ``x-`` keys, which are skipped as in compose files.
        """
        if at.value is None:
            return {}
        if not isinstance(at.value, dict):
            raise self.expected(at, "a mapping")
        entries: dict[str, Located] = {}
        for raw_key, value in at.value.items():
            name = str(raw_key)
            child = Located(value, _child_key(at.key, name), _key_line(at.value, raw_key, at.line))
            if allowed is not None and name.startswith("x-"):
                continue  # compose-style extension: a place to keep YAML anchors
            if allowed is not None and name not in allowed:
                raise self.error(child, _unknown_key_problem(name, allowed))
            entries[name] = child
        return entries

    def sequence(self, at: Located) -> list[Located]:
        """The items of a list (null counts as empty)."""
        if at.value is None:
            return []
        if not isinstance(at.value, list):
            raise self.expected(at, "a list")
        return [
            Located(value, f"{at.key}[{index}]", _item_line(at.value, index, at.line))
            for index, value in enumerate(at.value)
        ]

    def string(self, at: Located, what: str = "a string") -> str:
        if not isinstance(at.value, str) or not at.value.strip():
            raise self.expected(at, what)
        return str(at.value)

    def scalar_text(self, at: Located) -> str:
        """A string, number or boolean as text (``true``/``false``); null is empty."""
        if at.value is None:
            return ""
        if isinstance(at.value, bool):
            return "true" if at.value else "false"
        if isinstance(at.value, dict | list):
            raise self.expected(at, "a string, number or boolean")
        return str(at.value)

    def boolean(self, at: Located) -> bool:
        if not isinstance(at.value, bool):
            raise self.expected(at, "true or false")
        return at.value

    def integer(self, at: Located, minimum: int) -> int:
        if isinstance(at.value, bool) or not isinstance(at.value, int) or at.value < minimum:
            raise self.expected(at, f"a whole number of at least {minimum}")
        return int(at.value)

    def duration(self, at: Located, *, positive: bool = False) -> float:
        try:
            seconds = parse_duration(at.value)
        except ValueError:
            raise self.expected(at, "a duration like 10m, 30s or 1h30m") from None
        if positive and seconds <= 0:
            raise self.expected(at, "a duration longer than zero, like 10m")
        return seconds

    def strings(
        self, at: Located, check: Callable[[Located], str] | None = None
    ) -> tuple[str, ...]:
        """A list of strings, each passed through ``check`` when given."""
        read = check or self.string
        return tuple(read(item) for item in self.sequence(at))

    def optional(
        self, entries: dict[str, Located], key: str, read: Callable[[Located], T]
    ) -> T | None:
        return read(entries[key]) if key in entries and entries[key].value is not None else None


def _child_key(parent: str, name: str) -> str:
    if not parent:
        return name
    return f"{parent}.{name}" if _PLAIN_KEY.fullmatch(name) else f"{parent}[{name}]"


def _key_line(mapping: Any, key: object, fallback: int | None) -> int | None:
    lc = getattr(mapping, "lc", None)
    if lc is None:
        return fallback
    try:
        return int(lc.key(key)[0]) + 1
    except (KeyError, IndexError, TypeError):
        return fallback


def _item_line(sequence: Any, index: int, fallback: int | None) -> int | None:
    lc = getattr(sequence, "lc", None)
    if lc is None:
        return fallback
    try:
        return int(lc.item(index)[0]) + 1
    except (KeyError, IndexError, TypeError):
        return fallback


def _unknown_key_problem(name: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; expected one of {', '.join(allowed)}"
