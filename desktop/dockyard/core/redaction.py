"""Masks secret values in log lines before they are shown, stored or printed.

Secrets reach containers at deploy time; a program that echoes its configuration must
not leak them into Dockyard's logs, which are kept on disk and shown to everyone.
"""

from __future__ import annotations

import io
import re
import sys
import threading
from collections.abc import Iterable
from typing import TextIO, TypeVar

T = TypeVar("T")

MASK = "•••"
# Shorter values would mask ordinary words and digits all over the log.
MIN_SECRET_LENGTH = 3


class Redactor:
    """Replaces every known secret value in a line with ``•••``.

    One compiled alternation, longest value first so that a secret containing another
    is masked whole. Multi-line values (PEM keys) are registered line by line, since logs
    are redacted one line at a time. ``add`` may be called from another thread than the
    one redacting: the pattern is swapped in one assignment.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self._remember(secret)
        self._compile()

    def add(self, secret: str) -> None:
        """Start masking ``secret`` too (ignored when shorter than 3 characters)."""
        with self._lock:
            if self._remember(secret):
                self._compile()

    def __call__(self, line: str) -> str:
        pattern = self._pattern
        return line if pattern is None else pattern.sub(MASK, line)

    def _remember(self, secret: str) -> bool:
        added = False
        for part in secret.splitlines() or [secret]:
            part = part.strip()
            if len(part) >= MIN_SECRET_LENGTH and part not in self._secrets:
                self._secrets.add(part)
                added = True
        return added

    def _compile(self) -> None:
        if not self._secrets:
            self._pattern = None
            return
        ordered = sorted(self._secrets, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered))


# -- the process-wide registry of values to redact ------------------------------------
#
# Fed wherever a secret is read (engine.secrets: deployment secrets, registry passwords,
# TLS passphrases); every text Dockyard records or prints passes ``redact``: the store's
# free-text columns and audit details, error messages, CLI output, the pipeline child's
# events and the window's messages. Values are only ever added: a secret once seen by
# this process stays masked until it ends.

KNOWN_SECRETS = Redactor()


def remember_secret(value: str) -> None:
    """Mask ``value`` in everything this process records or prints from now on."""
    KNOWN_SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every secret value this process knows masked."""
    return KNOWN_SECRETS(text) if text else text


def redact_data(data: T) -> T:
    """Strings anywhere in JSON-like data (dicts, lists, tuples) redacted; keys too."""
    if isinstance(data, str):
        return redact(data)  # type: ignore[return-value]
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}  # type: ignore[return-value]
    if isinstance(data, list | tuple):
        return type(data)(redact_data(item) for item in data)
    return data


class RedactingStream(io.TextIOBase):
    """A text stream that masks secret values before they reach ``target``.

    Output is held back to the end of the line (or a flush), so a value written in two
    pieces is still masked whole.
    """

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            head, newline, tail = self._pending.rpartition("\n")
            if newline:
                self._pending = tail
                self.target.write(redact(head + newline))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, ""
            if pending:
                self.target.write(redact(pending))
        self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")


def redact_standard_streams() -> None:
    """Route ``sys.stdout`` and ``sys.stderr`` (print, logging, tracebacks) through the
    redactor; call it before logging is configured."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream))
