"""Stage logs on disk: appended as they arrive, read back by line number, searched.

A stage's log can reach tens of millions of lines, so it never sits in memory: the
runner appends to one UTF-8 file per stage, and readers keep a sparse index (the line
number and offset of one line per 64 KB of file, well under a byte a line), extended
incrementally while the writer is still appending. A read of lines scans at most a
64 KB block beyond what it returns.

File format: `<home>/logs/<run_id>/<stage>.log`, lines separated by "\\n".

Carriage returns: Docker progress output redraws a line with bare "\\r"
(`Downloading 10%\\rDownloading 20%`). A terminal shows only the last state, so the
writer keeps only the text after the last bare "\\r" of each line (a trailing "\\r"
from "\\r\\n" endings is simply dropped). The file therefore holds what a terminal
would have shown, and `dockyard logs` prints it as is. Readers also drop a trailing
"\\r", for files written by other tools.

Colour codes: search matches what the user reads, the text without escape codes. Removing
them costs ~0.2 µs each (a coloured build log has two a line: 8× the time grep takes to
search the file), so once a log holds an escape code the writer also keeps its plain
text beside it, `<stage>.plain`, line for line; searches read that at grep speed. Logs
without colour have no such copy, and logs written by other tools are stripped as they
are searched.
"""

from __future__ import annotations

import os
import re
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, AnyStr, BinaryIO

from dockyard.core.ansi import strip_ansi

# Reads while indexing: each is one count() over 1 MB in C, well under a millisecond of
# the GIL, so a UI thread reading lines beside the indexing worker is never held up.
_SCAN_CHUNK = 1024 * 1024
# One index entry per this many bytes of file (at least): the most a read of lines scans
# beyond the lines it returns.
_CHECKPOINT_BYTES = 64 * 1024
# Measuring line lengths splits the text into lines (~16× the cost of indexing a byte):
# it follows the index, in reads this small, so rows can be shown before it is done.
_MEASURE_CHUNK = 256 * 1024
MEASURE_COST = 16
# Lines per read when iterating.
_LINES_PER_READ = 16384
# Bytes of text per search step: each step is a decode and a regex scan in C, ~1 ms of
# the GIL. The first step is smaller still, so the first matches show at once.
_SEARCH_CHUNK = 1024 * 1024
_FIRST_SEARCH_STEP = 64 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# Patterns that look at what surrounds a line (lookaround, \A, \Z) are matched line by
# line; every other pattern runs over many lines at once, with ^ and $ at line ends.
_SEPARATORS = re.compile(rb"[\x1c-\x1f]")
_NEEDS_LINE_BY_LINE = re.compile(r"\(\?[=!<]|\\[AZ]")


def stage_log_path(home: Path, run_id: str, stage: str) -> Path:
    """Where the log of one stage of one run lives (names made safe for any filesystem)."""
    safe_run = _SAFE_NAME.sub("_", run_id) or "_"
    safe_stage = _SAFE_NAME.sub("_", stage) or "_"
    return home / "logs" / safe_run / f"{safe_stage}.log"


def plain_log_path(path: Path) -> Path:
    """Where the plain text (no escape codes) of a coloured log is kept, line for line."""
    return path.with_suffix(".plain")


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
        self._plain_path = plain_log_path(path)
        self._plain: BinaryIO | None = None
        if self._plain_path.exists():  # a coloured log appended to again
            self._plain = open(self._plain_path, "ab", buffering=0)  # noqa: SIM115

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
        text = "\n".join(parts)
        if self._plain is None and "\x1b" in text:
            self._plain = self._start_plain()
        _write_all(self._file, text.encode("utf-8", errors="replace"))
        if self._plain is not None:  # written second: readers trust only its complete lines
            _write_all(self._plain, strip_ansi(text).encode("utf-8", errors="replace"))

    def _start_plain(self) -> BinaryIO:
        """The plain copy, begun with the plain text of what the log already holds."""
        plain = open(self._plain_path, "wb", buffering=0)  # noqa: SIM115 - closed in close()
        with open(self.path, "rb") as existing:
            rest = b""
            while chunk := existing.read(_SEARCH_CHUNK):
                # Cut at a line end: no escape sequence (nor character) is cut in two.
                chunk, cut = rest + chunk, (rest + chunk).rfind(b"\n") + 1
                chunk, rest = chunk[:cut], chunk[cut:]
                _write_all(plain, _plain_bytes(chunk))
            _write_all(plain, _plain_bytes(rest))
        return plain

    def close(self) -> None:
        for handle in (self._file, self._plain):
            if handle is not None:
                handle.close()
        self._file = self._plain = None

    def __enter__(self) -> StageLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LineIndex:
    """Where lines start in a file, kept sparse: (line number, offset) every ~64 KB.

    ``lines`` complete lines are indexed; the next (incomplete) line starts at ``tail``.
    """

    def __init__(self) -> None:
        self.line_numbers = array("q", [0])
        self.offsets = array("q", [0])
        self.lines = 0
        self.tail = 0  # where the first line not yet complete starts
        self.scanned = 0  # bytes already looked at (may end inside an incomplete line)

    def add(self, chunk: bytes) -> None:
        """Indexes the next bytes of the file: a few C calls per 64 KB, nothing per line."""
        for start in range(0, len(chunk), _CHECKPOINT_BYTES):
            end = min(len(chunk), start + _CHECKPOINT_BYTES)
            newlines = chunk.count(b"\n", start, end)
            if newlines:
                self.lines += newlines
                self.tail = self.scanned + chunk.rfind(b"\n", start, end) + 1
                if self.tail - self.offsets[-1] >= _CHECKPOINT_BYTES:
                    self.line_numbers.append(self.lines)
                    self.offsets.append(self.tail)
        self.scanned += len(chunk)

    def span(self, start: int, stop: int) -> tuple[int, int, int]:
        """(first line, its offset, end offset) of a byte range holding lines [start, stop)."""
        at = bisect_right(self.line_numbers, start) - 1
        after = bisect_left(self.line_numbers, stop, lo=at)
        end = self.offsets[after] if after < len(self.offsets) else self.tail
        return self.line_numbers[at], self.offsets[at], end

    def end_line_near(self, offset: int) -> tuple[int, int]:
        """The indexed line starting at or after offset that is nearest to it, and where."""
        after = bisect_left(self.offsets, offset)
        if after < len(self.offsets):
            return self.line_numbers[after], self.offsets[after]
        return self.lines, self.tail


class StageLogReader:
    """Random access to a stage log by line number, following a writer that appends.

    refresh() indexes only the bytes added since the previous refresh; the lengths of the
    lines (for the widest line) are measured behind the index, so a huge log's rows can
    be shown before every line was measured.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._index = _LineIndex()
        self._measured = 0  # lines before this offset are counted in _max_line_bytes
        self._max_line_bytes = 0
        self._plain_index = _LineIndex()  # of plain_log_path(path), built by searches
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
            if size < self._index.scanned:  # truncated or replaced: start over
                self._index = _LineIndex()
                self._plain_index = _LineIndex()
                self._measured = 0
                self._max_line_bytes = 0
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:  # removed since stat(): nothing more to index
            return self.line_count()
        with handle:
            if max_bytes is None:
                self._scan(handle, self._index, size, size)
                self._measure(handle, float("inf"))
            else:
                done = self._scan(handle, self._index, size, max_bytes)
                self._measure(handle, (max_bytes - done) / MEASURE_COST)
        return self.line_count()

    def _scan(self, handle: BinaryIO, index: _LineIndex, size: int, budget: float) -> int:
        done = 0
        while done < budget:
            # The lock is held per chunk: another thread may be reading lines to paint.
            with self._lock:
                if index.scanned >= size:
                    break
                handle.seek(index.scanned)
                chunk = handle.read(int(min(_SCAN_CHUNK, budget - done, size - index.scanned)))
                if not chunk:
                    break
                index.add(chunk)
            done += len(chunk)
        return done

    def _measure(self, handle: BinaryIO, budget: float) -> None:
        """Counts the lengths of indexed lines, up to budget bytes, into the widest line."""
        while budget > 0 and self._measured < self._index.tail:
            handle.seek(self._measured)
            chunk = handle.read(min(_MEASURE_CHUNK, self._index.tail - self._measured))
            end = chunk.rfind(b"\n")
            if end < 0:  # one line longer than a read: measure it by finding its end
                length = len(chunk)
                while end < 0 and chunk:
                    chunk = handle.read(_MEASURE_CHUNK)
                    end = chunk.find(b"\n")
                    length += end if end >= 0 else len(chunk)
                self._max_line_bytes = max(self._max_line_bytes, length)
                self._measured = handle.tell() - len(chunk) + end + 1
                budget -= length
                continue
            longest = max(map(len, chunk[:end].split(b"\n")))
            self._max_line_bytes = max(self._max_line_bytes, longest)
            self._measured += end + 1
            budget -= end + 1

    def pending_bytes(self) -> int:
        """Bytes written to the file that refresh() has not indexed or measured yet."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        return max(0, size - self._index.scanned) + (self._index.tail - self._measured)

    def line_count(self) -> int:
        return self._index.lines

    def max_line_bytes(self) -> int:
        """Length in bytes of the longest line measured (an upper bound of its characters)."""
        return self._max_line_bytes

    def index_bytes(self) -> int:
        """Memory the line index takes (for the benchmarks)."""
        index = self._index
        return index.line_numbers.itemsize * (len(index.line_numbers) + len(index.offsets))

    def lines(self, start: int, count: int) -> list[str]:
        """Lines start .. start+count-1 that are indexed (fewer at the end of the log)."""
        with self._lock:
            stop = min(start + count, self._index.lines)
            if start < 0 or stop <= start:
                return []
            first, offset, end = self._index.span(start, stop)
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                data = handle.read(end - offset)
        except FileNotFoundError:  # the log was removed (its run deleted): nothing to show
            return []
        return _decode_lines(b"\n".join(data.split(b"\n")[start - first : stop - first]))

    def iter_lines(self) -> Iterator[str]:
        """Every indexed line, read in large slices."""
        start = 0
        while start < self.line_count():
            block = self.lines(start, _LINES_PER_READ)
            yield from block
            start += len(block)

    def search(
        self, pattern: re.Pattern[str], start: int = 0, stop: int | None = None
    ) -> Iterator[int]:
        """Numbers of the lines in [start, stop) whose text without escape codes matches."""
        for found, _searched_to in self.search_steps(pattern, start, stop):
            yield from found

    def search_steps(
        self, pattern: re.Pattern[str], start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[list[int], int]]:
        """Searches [start, stop) a few MB at a time: yields (matching lines, searched up to).

        Between steps a caller may stop (a newer pattern) or show what was found so far.
        Uses its own file handles, so it may run in a worker while the UI thread reads.
        """
        end = self.line_count() if stop is None else min(stop, self.line_count())
        matcher = _ChunkMatcher(pattern)
        line = max(0, start)
        step = _FIRST_SEARCH_STEP  # small at first: the first matches show at once
        plain = plain_log_path(self.path)
        if line < end and self._plain_usable(plain):
            with open(plain, "rb") as handle:
                while line < end:
                    # The copy is indexed as the search goes: no wait before the first step.
                    size = os.fstat(handle.fileno()).st_size
                    self._scan(handle, self._plain_index, size, step)
                    until = min(end, self._plain_index.lines)
                    if until <= line:
                        break  # the copy ends here (it is written after the log)
                    found, line = self._search_step(
                        handle, self._plain_index, matcher, line, until, step
                    )
                    yield found, line
                    step = min(step * 2, _SEARCH_CHUNK)
        if line < end:
            with open(self.path, "rb") as handle:
                while line < end:
                    found, line = self._search_step(handle, self._index, matcher, line, end, step)
                    yield found, line
                    step = min(step * 2, _SEARCH_CHUNK)

    def _search_step(
        self,
        handle: BinaryIO,
        index: _LineIndex,
        matcher: _ChunkMatcher,
        line: int,
        until: int,
        step: int,
    ) -> tuple[list[int], int]:
        """The matching lines from line on, about step bytes of them; and the next line."""
        with self._lock:
            first, offset, _end = index.span(line, line + 1)
            last, last_offset = index.end_line_near(offset + step)
            if last >= until:  # the last step: read to an indexed line at or after until
                last, last_offset = until, index.span(until - 1, until)[2]
        handle.seek(offset)
        found = matcher.lines_in(handle.read(last_offset - offset), first)
        return [n for n in found if line <= n < last], last

    def _plain_usable(self, plain: Path) -> bool:
        """Whether the plain copy is there and may be this log's (never longer than it)."""
        try:
            size = plain.stat().st_size
            if size <= self.path.stat().st_size:
                return True
        except FileNotFoundError:
            return False
        with self._lock:  # not this log's copy (the log was replaced): index it afresh
            self._plain_index = _LineIndex()
        return False


class _ChunkMatcher:
    """Finds the lines of a block of text that a pattern matches, at the regex's speed.

    The pattern runs over the whole block with ^ and $ at line ends (re.MULTILINE); each
    match names its line, and the search goes on at the next line. A match that runs over
    a line end is checked again on its first line alone. Patterns that look beyond a line
    (lookaround, \\\\A, \\\\Z) are matched line by line instead.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self._pattern = pattern
        self._line_by_line = bool(_NEEDS_LINE_BY_LINE.search(pattern.pattern))
        self._multiline = re.compile(pattern.pattern, pattern.flags | re.MULTILINE)
        # On ASCII text the same pattern as bytes finds the same lines without decoding
        # (a third of the time). Only \s differs there: str's also matches \x1c-\x1f.
        self._ascii: re.Pattern[bytes] | None = None
        if not self._line_by_line and pattern.pattern.isascii():
            flags = (pattern.flags & ~re.UNICODE) | re.MULTILINE
            try:
                self._ascii = re.compile(pattern.pattern.encode(), flags)
            except (re.error, ValueError):  # \u escapes, (?u): str only
                self._ascii = None
        self._spaces_differ = "\\s" in pattern.pattern or "\\S" in pattern.pattern

    def lines_in(self, data: bytes, first: int) -> list[int]:
        """Numbers of the matching lines of data (complete lines, the first numbered first)."""
        body = data[:-1]
        if self._ascii is not None and self._plain_ascii(body):
            return _scan(body, first, self._ascii.search, b"\n")
        text = body.decode("utf-8", errors="replace")
        if "\x1b" in text:
            text = strip_ansi(text)
        if "\r" in text:
            text = text.replace("\r\n", "\n").removesuffix("\r")
        if self._line_by_line:
            search = self._pattern.search
            return [first + n for n, line in enumerate(text.split("\n")) if search(line)]
        return _scan(text, first, self._multiline.search, "\n")

    def _plain_ascii(self, body: bytes) -> bool:
        """Whether body is ASCII with nothing to strip, where bytes and str patterns agree."""
        if not body.isascii() or b"\x1b" in body or b"\r" in body:
            return False
        return not (self._spaces_differ and _SEPARATORS.search(body))


def _scan(text: AnyStr, line: int, search: Callable[..., Any], newline: AnyStr) -> list[int]:
    """Numbers of the lines of text (the first numbered line) that search matches alone."""
    found: list[int] = []
    find, count, rfind, size = text.find, text.count, text.rfind, len(text)
    position = counted = 0
    while (match := search(text, position)) is not None:
        start = match.start()
        line += count(newline, counted, start)
        line_start = rfind(newline, 0, start) + 1
        line_end = find(newline, start)
        if line_end < 0:
            line_end = size
        if match.end() <= line_end or search(text, line_start, line_end):
            found.append(line)
        if line_end == size:
            break
        position = counted = line_end + 1
        line += 1
    return found


def _plain_bytes(data: bytes) -> bytes:
    """Log bytes without escape codes; bytes that are not UTF-8 are kept as they are."""
    text = data.decode("utf-8", errors="surrogateescape")
    return strip_ansi(text).encode("utf-8", errors="surrogateescape")


def _write_all(handle: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = handle.write(view)
        view = view[written or 0 :]


def _decode_lines(data: bytes) -> list[str]:
    """Splits "\\n"-joined bytes into lines, tolerating invalid UTF-8 and "\\r\\n" files."""
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.removesuffix("\r") for line in lines]
    return lines
