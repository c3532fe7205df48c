"""What a pipeline run hands to the release service once its image is delivered, and
what it gets back: a module of its own, so the release service (and ``dockyard status``)
need not import the runner, which imports the Docker SDK and GitPython."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard.core.errors import DockyardError
from dockyard.core.model import ImageRecord, Run, RunStatus
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.releases import DeploymentOutcome
from dockyard.engine.events import CancelToken, EventSink


@dataclass(frozen=True)
class Delivered:
    """What the delivery hook is given: the delivered image and the run that made it."""

    image: ImageRecord
    environments: Sequence[EnvironmentConfig]  # in promotion order
    run: Run
    sink: EventSink
    cancel: CancelToken


@dataclass(frozen=True)
class DeliveryResult:
    """What the delivery hook answers: the run's final status (succeeded,
    awaiting_approval, failed or cancelled), why it failed, and each environment's outcome."""

    status: RunStatus
    error: DockyardError | None = None
    deployments: tuple[DeploymentOutcome, ...] = ()


# Called after delivery: deploys to automatic environments, stops at a gate.
DeliveryHook = Callable[[Delivered], DeliveryResult]
