"""What a stage executor gets: where to log, how to notice cancellation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.engine.events import CancelToken


@dataclass
class StageContext:
    run_id: str
    workdir: Path
    log_lines: Callable[[Sequence[str]], None]  # redacted and written by the runner
    cancel: CancelToken
    warnings: list[str] = field(default_factory=list)

    def log(self, line: str) -> None:
        self.log_lines((line,))

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self.log(f"WARNING: {message}")
