"""``dockyard watch`` as a process of its own, its output read as it comes."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from testbed.cli import Cli


class Watching:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.output: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream,), daemon=True)
            for stream in (process.stdout, process.stderr)
        ]
        for reader in self.readers:
            reader.start()

    @classmethod
    @contextmanager
    def of(cls, cli: Cli, *args: str) -> Iterator[Watching]:
        watching = cls(cli.start(*args))
        try:
            yield watching
        finally:
            watching.stop()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.output.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        streams = (self.process.stdout, self.process.stderr)
        for reader, stream in zip(self.readers, streams, strict=True):
            reader.join(10)
            assert stream is not None
            stream.close()


def wait_for(what: str, found: Callable[[], Any], timeout: float, *watching: Watching) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        said = "\n".join(f"(exit {w.process.poll()}) {w.text}" for w in watching)
        assert time.monotonic() < deadline, f"never saw {what}: {said}"
        time.sleep(0.2)


def baseline_recorded(home: Path) -> bool:
    """The watcher's first look is recorded in the machine's database."""
    database = home / "dockyard.db"
    if not database.exists():
        return False
    with closing(sqlite3.connect(database)) as db:
        try:
            return bool(db.execute("SELECT count(*) FROM watched_refs").fetchone()[0])
        except sqlite3.OperationalError:  # not made yet
            return False
