"""Stage logs on disk: what the runner writes is what readers show, while it writes."""

from __future__ import annotations

import re
from pathlib import Path

from dockyard.store.logs import StageLogReader, StageLogWriter, plain_log_path, stage_log_path


def test_log_path_is_per_run_and_stage(tmp_path: Path) -> None:
    path = stage_log_path(tmp_path, "run-1", "deploy/prod")
    assert path == tmp_path / "logs" / "run-1" / "deploy_prod.log"


def test_reader_follows_a_writer_and_waits_for_incomplete_lines(tmp_path: Path) -> None:
    path = tmp_path / "build.log"
    writer = StageLogWriter(path)
    reader = StageLogReader(path)
    assert reader.refresh() == 0
    writer.append(["Step 1/3", "Step 2/3"])
    assert reader.refresh() == 2
    with open(path, "ab") as raw:  # a line whose end has not arrived yet
        raw.write(b"Step 3/")
    assert reader.refresh() == 2
    assert reader.lines(0, 10) == ["Step 1/3", "Step 2/3"]
    with open(path, "ab") as raw:
        raw.write(b"3\n")
    assert reader.refresh() == 3
    assert reader.lines(2, 1) == ["Step 3/3"]
    writer.close()


def test_progress_redraws_keep_the_last_state(tmp_path: Path) -> None:
    path = tmp_path / "pull.log"
    with StageLogWriter(path) as writer:
        writer.append(["Downloading 10%\rDownloading 90%\rDone", "crlf line\r\n", "a\nb"])
    reader = StageLogReader(path)
    reader.refresh()
    assert list(reader.iter_lines()) == ["Done", "crlf line", "a", "b"]


def test_random_access_in_a_large_log(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    with StageLogWriter(path) as writer:
        for block in range(10):
            writer.append([f"line {n}" for n in range(block * 10_000, (block + 1) * 10_000)])
    reader = StageLogReader(path)
    # Small slices exercise the incremental index across chunk boundaries.
    while reader.pending_bytes():
        reader.refresh(max_bytes=4096)
    assert reader.line_count() == 100_000
    assert reader.lines(54_321, 3) == ["line 54321", "line 54322", "line 54323"]
    assert reader.lines(99_999, 5) == ["line 99999"]
    assert reader.lines(100_000, 5) == []
    assert sum(1 for _ in reader.iter_lines()) == 100_000


def test_long_lines_and_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "odd.log"
    long_line = "x" * 40_000  # longer than Docker's 16 KB split: kept whole
    path.write_bytes(b"ok\n" + long_line.encode() + b"\nbad \xff\xfe byte\n")
    reader = StageLogReader(path)
    assert reader.refresh() == 3
    assert reader.lines(1, 1) == [long_line]
    assert reader.lines(2, 1) == ["bad \ufffd\ufffd byte"]
    assert reader.max_line_bytes() == 40_000


def test_search_returns_matching_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "test.log"
    with StageLogWriter(path) as writer:
        writer.append([f"{'ERROR' if n % 1000 == 7 else 'ok'} {n}" for n in range(50_000)])
    reader = StageLogReader(path)
    reader.refresh()
    pattern = re.compile(r"^ERROR")
    assert list(reader.search(pattern)) == list(range(7, 50_000, 1000))
    assert list(reader.search(pattern, start=10, stop=2_000)) == [1007]
    path.write_text("\x1b[31mERR\x1b[0mOR 1\nplain\n")  # written by another tool
    coloured = StageLogReader(path)
    coloured.refresh()
    assert list(coloured.search(re.compile("ERROR"))) == [0]  # what the user reads


def test_truncated_file_is_indexed_again(tmp_path: Path) -> None:
    path = tmp_path / "again.log"
    path.write_text("a\nb\nc\n")
    reader = StageLogReader(path)
    assert reader.refresh() == 3
    path.write_text("z\n")
    assert reader.refresh() == 1
    assert reader.lines(0, 5) == ["z"]


def test_search_matches_the_text_the_user_reads(tmp_path: Path) -> None:
    path = tmp_path / "colour.log"
    with StageLogWriter(path) as writer:
        writer.append(["plain start", "a", "b"])  # no colour yet: no plain copy
        assert not plain_log_path(path).exists()
        writer.append(["\x1b[31mERR\x1b[0mOR one", "x \x1b[1mword\x1b[0m", "ERROR two"])
    assert plain_log_path(path).read_text().splitlines() == [
        "plain start", "a", "b", "ERROR one", "x word", "ERROR two",
    ]  # fmt: skip
    reader = StageLogReader(path)
    reader.refresh()

    def found(pattern: str) -> list[int]:
        return list(reader.search(re.compile(pattern)))

    assert found("ERROR") == [3, 5]  # a colour code inside the word does not hide it
    assert found("^ERROR") == [3, 5] and found("one$") == [3]  # anchors at each line
    assert found(r"\bword\b") == [4]  # "\x1b[1mword": the "m" before it is not text
    assert found(r"a\sb") == []  # "a" and "b" are two lines, never one match
    assert found(r"(?<=x )word") == [4]  # lookbehind: matched line by line
    assert found(r"\[31m") == []  # the codes themselves are not text


def test_search_goes_on_where_the_plain_copy_ends(tmp_path: Path) -> None:
    path = tmp_path / "half.log"
    with StageLogWriter(path) as writer:
        writer.append([f"\x1b[32mok\x1b[0m {n}" for n in range(1000)])
    with open(path, "ab") as other:  # lines another tool added: not in the plain copy
        other.write(b"\x1b[31mok\x1b[0m 1000\nok 1001\n")
    reader = StageLogReader(path)
    reader.refresh()
    assert list(reader.search(re.compile(r"^ok 100\d$"))) == list(range(1000, 1002))
    steps = list(reader.search_steps(re.compile("ok"), start=998))
    assert [n for found, _to in steps for n in found] == [998, 999, 1000, 1001]
    assert steps[-1][1] == 1002


def test_the_index_takes_well_under_a_byte_a_line(tmp_path: Path) -> None:
    path = tmp_path / "many.log"
    with StageLogWriter(path) as writer:
        writer.append([f"line {n}" for n in range(300_000)])
    reader = StageLogReader(path)
    reader.refresh()
    assert reader.line_count() == 300_000
    assert reader.index_bytes() < 300_000 / 4
    assert reader.lines(123_456, 2) == ["line 123456", "line 123457"]
    assert reader.max_line_bytes() == len("line 299999")


def test_search_agrees_on_any_text_whatever_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    with StageLogWriter(path) as writer:
        writer.append(["café au lait", "tab\x1cseparated", "plain ascii", "naïve"])
    reader = StageLogReader(path)
    reader.refresh()

    def found(pattern: str) -> list[int]:
        return list(reader.search(re.compile(pattern)))

    assert found(r"caf.\b") == [0]  # one character, two bytes
    assert found(r"tab\sseparated") == [1]  # str's \s takes \x1c, bytes' would not
    assert found(r"(?i)PLAIN\s+ASCII$") == [2]
    assert found(r"na\u00efve") == [3]  # an escape only str patterns know
