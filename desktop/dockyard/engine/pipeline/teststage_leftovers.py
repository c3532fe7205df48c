"""What a killed run's test stage left on its Docker host, removed at recovery.

A run killed during its test leaves the compose project (containers, network, volumes)
or the command's test container behind, since the teardown never ran. They are found by
label on the run's build host; once handled, the test stage's summary says so, so later
recoveries do not look again.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.core.errors import DockyardError
from dockyard.core.model import Run
from dockyard.engine.pipeline.teststage_teardown import remove_left_behind
from dockyard.engine.release.config import pipeline_at
from dockyard.store.database import Database
from dockyard.store.runs import RunStore

REMOVED = "interrupted; Dockyard removed the test containers it left behind"
NOTHING_LEFT = "interrupted: Dockyard stopped before this stage finished (nothing was left behind)"


def remove_test_leftovers(home: Path, db: Database) -> list[str]:
    """Tear down the test stages of interrupted runs; one line per run that left anything
    behind or whose host could not be asked (tried again at the next recovery)."""
    runs = RunStore(db)
    lines = []
    for run in runs.interrupted_in_stage("test"):
        host = _build_host(home, run)
        try:
            removed = remove_left_behind(home, host, run)
        except DockyardError as exc:
            lines.append(
                f"Run {run.id}: could not remove what its test left on {host} ({exc.message}); "
                "tried again at the next start."
            )
            continue
        stage = run.stage("test")
        stage.summary = REMOVED if removed else NOTHING_LEFT
        runs.save_stage(run.id, stage)
        if removed:
            lines.append(
                f"Run {run.id}: removed what its interrupted test left on {host} "
                f"({', '.join(removed)})."
            )
    return lines


def _build_host(home: Path, run: Run) -> str:
    try:
        return pipeline_at(home, run.repo, run.commit).build.host if run.commit else "local"
    except DockyardError:
        return "local"
