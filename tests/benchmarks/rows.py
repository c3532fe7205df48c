"""What every benchmark reports: rows of figure, measured, target, met / NOT MET.

A benchmark script measures, then calls ``report(rows)``; the runner (``run.py``) starts
each script in a process of its own (so memory figures are its own), reads the rows from
its output and prints one table. ``quick()`` is true when the runner (or ``make test``)
asks for small sizes: the benchmark must still run every step and produce every row, so
a benchmark that breaks fails the suite instead of rotting unseen.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROW_PREFIX = "BENCH-ROW "
QUICK_ENV = "DOCKYARD_BENCH_QUICK"


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    target: str = ""  # "" for a figure shown for comparison only
    met: bool | None = None  # None: no target
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "met" if self.met else "NOT MET"


def quick() -> bool:
    return os.environ.get(QUICK_ENV) == "1" or "--quick" in sys.argv[1:]


def sized(full: int, small: int) -> int:
    """``full`` for ``make bench``, ``small`` in quick mode."""
    return small if quick() else full


def as_installed(env: dict[str, str], bytecode: Path) -> dict[str, str]:
    """``env`` for a command that starts as an installed Dockyard does, with its modules'
    bytecode (written under ``bytecode`` by a first start, not measured): the test
    runner's environment forbids writing it, and compiling every module at each start
    would be measured instead."""
    installed = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    installed["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return installed


def report(rows: list[Row]) -> None:
    """Prints the rows for the runner (one JSON object per line)."""
    for row in rows:
        print(ROW_PREFIX + json.dumps(asdict(row)), flush=True)


def parse(output: str) -> list[Row]:
    return [
        Row(**json.loads(line[len(ROW_PREFIX) :]))
        for line in output.splitlines()
        if line.startswith(ROW_PREFIX)
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def at_most(value: float, limit: float) -> bool:
    return value <= limit
