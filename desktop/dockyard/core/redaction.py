"""Masks secret values in log lines before they are shown, stored or printed.

Secrets reach containers at deploy time; a program that echoes its configuration must
not leak them into Dockyard's logs, which are kept on disk and shown to everyone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

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
