"""Runs the benchmarks and prints one table: figure, measured, target, met / NOT MET.

    python tests/benchmarks/run.py [--quick] [--markdown] [bench_name ...]

Each ``bench_*.py`` runs in a process of its own (its memory figures are its own) and
reports rows (``rows.report``). ``--quick`` runs them at small sizes (what ``make test``
does, so none can rot); ``--markdown`` prints the table as README's performance table.
Exits 1 when a benchmark broke (crashed or reported nothing), never for a target not met.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.rows import QUICK_ENV, Row, parse  # noqa: E402


def benchmarks(names: list[str]) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if not names:
        return found
    chosen = [path for path in found if path.stem in names or path.name in names]
    unknown = set(names) - {p.stem for p in chosen} - {p.name for p in chosen}
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(sorted(unknown))}")
    return chosen


def run_one(
    path: Path, quick: bool, timeout: float = 3600, extra_env: dict[str, str] | None = None
) -> tuple[list[Row], str]:
    """The rows of one benchmark, and its output when it broke ("" when it did not)."""
    paths = os.pathsep.join([str(ROOT / "desktop"), str(ROOT / "tests")])
    env = {**os.environ, **(extra_env or {}), "PYTHONPATH": paths}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if quick:
        env[QUICK_ENV] = "1"
    try:
        done = subprocess.run(
            [sys.executable, str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired as exc:
        return [], f"timed out after {timeout:.0f} s\n{exc.stdout or ''}{exc.stderr or ''}"
    rows = parse(done.stdout)
    if done.returncode != 0 or not rows:
        return rows, f"exit code {done.returncode}\n{done.stdout}\n{done.stderr}"
    return rows, ""


def table(rows: list[Row], markdown: bool) -> str:
    header = ("Figure", "Measured", "Target", "")
    cells = [header] + [(r.figure, r.measured, r.target, r.verdict) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(cells[0]) + " |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(c) + " |" for c in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    markdown = "--markdown" in argv
    names = [a for a in argv if not a.startswith("--")]
    all_rows: list[Row] = []
    broken = []
    for path in benchmarks(names):
        started = time.perf_counter()
        print(f"running {path.stem}…", file=sys.stderr, flush=True)
        rows, failure = run_one(path, quick)
        all_rows += rows
        print(f"  {path.stem}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if failure:
            broken.append(path.stem)
            all_rows.append(Row(f"{path.stem} broke", "see its output above", "runs", False))
            print(f"{path.stem} broke: {failure}", file=sys.stderr)
    print(table(all_rows, markdown))
    for row in all_rows:
        if row.note:
            print(f"  {row.figure}: {row.note}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
