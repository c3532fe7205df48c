"""Stage logs on disk: appended as they arrive, read back by line number.

A stage's log can reach millions of lines, so it never sits in memory: the runner
appends to one UTF-8 file per stage, and readers keep only an index of line start
offsets (8 bytes a line), extended incrementally while the writer is still appending.

File format: `<home>/logs/<run_id>/<stage>.log`, lines separated by "\\n".

Carriage returns: Docker progress output redraws a line with bare "\\r"
(`Downloading 10%\\rDownloading 20%`). A terminal shows only the last state, so the
writer keeps only the text after the last bare "\\r" of each line (a trailing "\\r"
from "\\r\\n" endings is simply dropped). The file therefore holds what a terminal
would have shown, and `dockyard logs` prints it as is. Readers also drop a trailing
"\\r", for files written by other tools.
"""

from __future__ import annotations

import operator
import re
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate, repeat
from pathlib import Path
from typing import BinaryIO

# Reads of ~5,000 lines: big enough to keep the per-byte cost in C, small enough that
# indexing one (in a worker, holding the GIL) stays well under a millisecond.
_SCAN_CHUNK = 256 * 1024
# Lines per read when iterating or searching.
_LINES_PER_READ = 16384
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def stage_log_path(home: Path, run_id: str, stage: str) -> Path:
    """Where the log of one stage of one run lives (names made safe for any filesystem)."""
    safe_run = _SAFE_NAME.sub("_", run_id) or "_"
    safe_stage = _SAFE_NAME.sub("_", stage) or "_"
    return home / "logs" / safe_run / f"{safe_stage}.log"


def normalise_line(line: str) -> str:
    """One log line as a terminal would show it: no newline, only the last "\\r" redraw."""
    line = line.rstrip("\r\n")
    if "\r" in line:
        line = line.rsplit("\r", 1)[1]
    return line


class StageLogWriter:
    """Appends lines to a stage log; used by the pipeline runner's thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Unbuffered: every append() reaches the OS at once, so readers see it.
        self._file: BinaryIO | None = open(path, "ab", buffering=0)  # noqa: SIM115

    def append(self, lines: Sequence[str]) -> None:
        """Writes the lines in one system call (no fsync: the OS cache is enough for logs)."""
        if self._file is None:
            raise ValueError(f"the log {self.path} is closed; open a new StageLogWriter")
        if not lines:
            return
        parts: list[str] = []
        for line in lines:
            # A chunk's own terminator is not an extra empty line; an embedded newline
            # starts a new line, so the file stays one record per line.
            parts.extend(normalise_line(piece) for piece in line.removesuffix("\n").split("\n"))
        parts.append("")
        data = "\n".join(parts).encode("utf-8", errors="replace")
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written or 0 :]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> StageLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StageLogReader:
    """Random access to a stage log by line number, following a writer that appends.

    `_starts[i]` is the byte offset where line i starts; one extra entry marks where
    the next (not yet complete) line starts, so line i is `_starts[i] : _starts[i+1]-1`.
    refresh() reads only the bytes added since the previous refresh.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._starts = array("q", [0])
        self._scanned = 0  # bytes already looked at (may end inside an incomplete line)
        self._max_line_bytes = 0
        # refresh() runs in a worker while the UI thread reads lines to paint. The file is
        # opened per call: nothing stays open between calls, so there is nothing to close.
        self._lock = threading.Lock()

    def refresh(self, max_bytes: int | None = None) -> int:
        """Indexes newly written complete lines and returns the line count.

        max_bytes bounds the work of one call, so a UI can index a huge file in slices
        between paint events; call again while pending_bytes() is non-zero.
        """
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return self.line_count()
        with self._lock:
            if size < self._scanned:  # truncated or replaced: start over
                self._starts = array("q", [0])
                self._scanned = 0
                self._max_line_bytes = 0
            budget = size - self._scanned if max_bytes is None else max_bytes
            if budget <= 0 or self._scanned >= size:
                return self.line_count()
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:  # removed since stat(): nothing more to index
            return self.line_count()
        with handle:
            while budget > 0:
                # The lock is held per chunk: another thread may be reading lines to paint.
                with self._lock:
                    if self._scanned >= size:
                        break
                    handle.seek(self._scanned)
                    chunk = handle.read(min(_SCAN_CHUNK, budget, size - self._scanned))
                    if not chunk:
                        break
                    self._index_chunk(chunk)
                budget -= len(chunk)
        return self.line_count()

    def _index_chunk(self, chunk: bytes) -> None:
        pieces = chunk.split(b"\n")
        lengths = list(map(len, pieces))
        if len(pieces) > 1:
            # The first piece completes the line that started at the last known start.
            first = self._scanned + lengths[0] - self._starts[-1]
            self._max_line_bytes = max(self._max_line_bytes, first, *lengths[1:-1])
        # Start of the line after each "\n" = running sum of (piece length + 1); all in C.
        starts = accumulate(map(operator.add, lengths, repeat(1)), initial=self._scanned)
        next(starts)
        self._starts.extend(starts)
        self._starts.pop()  # the last piece has no "\n" after it (yet)
        self._scanned += len(chunk)

    def pending_bytes(self) -> int:
        """Bytes written to the file that refresh() has not looked at yet."""
        try:
            return max(0, self.path.stat().st_size - self._scanned)
        except FileNotFoundError:
            return 0

    def line_count(self) -> int:
        return len(self._starts) - 1

    def max_line_bytes(self) -> int:
        """Length in bytes of the longest complete line (an upper bound of its characters)."""
        return self._max_line_bytes

    def lines(self, start: int, count: int) -> list[str]:
        """Lines start .. start+count-1 that are indexed (fewer at the end of the log)."""
        with self._lock:
            stop = min(start + count, len(self._starts) - 1)
            if start < 0 or stop <= start:
                return []
            first, end = self._starts[start], self._starts[stop]
        try:
            with open(self.path, "rb") as handle:
                handle.seek(first)
                data = handle.read(end - first)
        except FileNotFoundError:  # the log was removed (its run deleted): nothing to show
            return []
        return _decode_lines(data[:-1])

    def iter_lines(self) -> Iterator[str]:
        """Every indexed line, read in large slices."""
        start = 0
        while start < self.line_count():
            block = self.lines(start, _LINES_PER_READ)
            yield from block
            start += len(block)

    def search(
        self,
        pattern: re.Pattern[str],
        start: int = 0,
        stop: int | None = None,
        transform: Callable[[str], str] | None = None,
    ) -> Iterator[int]:
        """Numbers of the lines in [start, stop) that pattern.search() matches.

        transform (e.g. removing colour codes, so the pattern sees what the user sees) is
        applied to slices of lines joined by "\\n" and must keep every newline.
        Uses its own file handle, so it may run in a worker while the UI thread reads.
        """
        with open(self.path, "rb") as handle:
            line = max(0, start)
            while True:
                with self._lock:
                    indexed = len(self._starts) - 1
                    end = indexed if stop is None else min(stop, indexed)
                    count = min(_LINES_PER_READ, end - line)
                    if count <= 0:
                        return
                    first, last = self._starts[line], self._starts[line + count]
                handle.seek(first)
                text = handle.read(last - first)[:-1].decode("utf-8", errors="replace")
                if transform is not None:
                    text = transform(text)
                matcher = pattern.search
                for offset, item in enumerate(text.split("\n")):
                    if matcher(item.removesuffix("\r")):
                        yield line + offset
                line += count


def _decode_lines(data: bytes) -> list[str]:
    """Splits "\\n"-joined bytes into lines, tolerating invalid UTF-8 and "\\r\\n" files."""
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.removesuffix("\r") for line in lines]
    return lines
