"""A second run of the same repository and ref waits for the first (across processes too)."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dockyard.engine.events import CancelToken


@contextmanager
def queued(home: Path, repo: str, ref: str, cancel: CancelToken) -> Iterator[None]:
    locks = home / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{repo}\0{ref}".encode()).hexdigest()[:20]
    fd = os.open(locks / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                cancel.raise_if_cancelled()
                cancel.wait(0.25)
        yield
    finally:
        os.close(fd)  # closing releases the lock
