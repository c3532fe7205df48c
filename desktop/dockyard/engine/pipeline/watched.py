"""A run for what a watched repository's poll found, kept for later when the ledger cannot
record it (the team server is away, the disk is full, the database is locked). A run that
fails before it is recorded for any other reason is put back too, and its error raised:
the watcher says that reason, not that the ledger is away."""

from __future__ import annotations

from pathlib import Path

from dockyard.engine.events import Event, RunChanged
from dockyard.engine.ledger_source import acting_identity
from dockyard.engine.pipeline.outcome import PipelineOutcome
from dockyard.engine.pipeline.start import start_pipeline
from dockyard.engine.pipeline.triggers import RefChange, RefWatcher
from dockyard.store.database import Database
from dockyard.store.failures import cannot_record


def run_change(
    watcher: RefWatcher, change: RefChange, *, home: Path, db: Database
) -> PipelineOutcome | None:
    """Run ``change`` to the end; None when the ledger could not record its run. A run
    that fails before it is recorded is put back either way (the watcher's next look finds
    it again); for another reason than the ledger, its error is raised."""
    recorded = False

    def sink(event: Event) -> None:
        nonlocal recorded
        recorded = recorded or isinstance(event, RunChanged)

    try:
        return start_pipeline(
            home=home,
            db=db,
            location=change.repo,
            ref=change.ref,
            started_by=acting_identity(db),
            sink=sink,
        )
    except Exception as exc:
        if recorded:  # a run recorded and then cut off is recovery's to settle
            raise
        watcher.put_back(change)
        if cannot_record(exc):
            return None
        raise
