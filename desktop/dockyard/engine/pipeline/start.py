"""The entry point the CLI and the window use to run a pipeline end to end."""

from __future__ import annotations

from pathlib import Path

from dockyard.engine.events import CancelToken, EventSink, ignore_events
from dockyard.engine.pipeline.outcome import PipelineOutcome
from dockyard.engine.pipeline.runner import PipelineRunner
from dockyard.engine.release.deploy_lock import Notify
from dockyard.engine.release.service import ReleaseService
from dockyard.engine.secrets import SecretStore
from dockyard.store.database import Database


def start_pipeline(
    *,
    home: Path,
    db: Database,
    location: str,
    ref: str | None,
    started_by: str,
    sink: EventSink = ignore_events,
    cancel: CancelToken | None = None,
    secrets: SecretStore | None = None,
    wait: bool = True,
    on_wait: Notify | None = None,
) -> PipelineOutcome:
    """Run checkout → build → test → deliver, then deploy to automatic environments.

    ``wait=False`` fails a deployment whose environment another deployment holds, instead
    of waiting for it (telling ``on_wait``).
    """
    releases = ReleaseService(home=home, db=db, identity=started_by, secrets=secrets)
    releases.wait = wait
    if on_wait is not None:
        releases.on_wait = on_wait
    runner = PipelineRunner(
        home=home,
        db=db,
        location=location,
        ref=ref,
        started_by=started_by,
        sink=sink,
        cancel=cancel,
        secrets=secrets,
        after_delivery=releases.after_delivery,
    )
    run = runner.run()
    return PipelineOutcome(run=run, error=runner.error, deployments=runner.deployments)
