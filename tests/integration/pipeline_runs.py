"""A pipeline run in this process, as the window starts one, and a stage's log as
recorded: what the pipeline tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.engine.pipeline.outcome import PipelineOutcome
from dockyard.engine.pipeline.start import start_pipeline
from dockyard.store.database import open_database
from dockyard.store.logs import StageLogReader, stage_log_path
from testbed.gitrepos import GitRepo


def run(home: Path, repo: GitRepo | str, ref: str | None = None, **kwargs: Any) -> PipelineOutcome:
    location = repo if isinstance(repo, str) else str(repo.path)
    return start_pipeline(
        home=home,
        db=open_database(home),
        location=location,
        ref=ref,
        started_by="dev@example.test",
        **kwargs,
    )


def log_of(home: Path, run_id: str, stage: str) -> str:
    reader = StageLogReader(stage_log_path(home, run_id, stage))
    reader.refresh()
    return "\n".join(reader.iter_lines())
