"""The entry point the CLI and the window use to run a pipeline end to end."""

from __future__ import annotations

from pathlib import Path

from dockyard.core.model import RunStatus
from dockyard.engine.events import CancelToken, EventSink, ignore_events
from dockyard.engine.pipeline.delivery import Delivered, DeliveryResult
from dockyard.engine.pipeline.outcome import PipelineOutcome
from dockyard.engine.pipeline.runner import PipelineRunner
from dockyard.engine.release.deploy_lock import Notify
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

    def after_delivery(delivered: Delivered) -> DeliveryResult:
        if not delivered.environments:
            return DeliveryResult(RunStatus.SUCCEEDED)  # nothing to deploy to
        # The release service only now: its deployers import Docker's SDK (sdkclient.py).
        from dockyard.engine.release.service import ReleaseService

        releases = ReleaseService(home=home, db=db, identity=started_by, secrets=secrets)
        releases.wait = wait
        if on_wait is not None:
            releases.on_wait = on_wait
        return releases.after_delivery(delivered)

    runner = PipelineRunner(
        home=home,
        db=db,
        location=location,
        ref=ref,
        started_by=started_by,
        sink=sink,
        cancel=cancel,
        secrets=secrets,
        after_delivery=after_delivery,
    )
    run = runner.run()
    return PipelineOutcome(run=run, error=runner.error, deployments=runner.deployments)
