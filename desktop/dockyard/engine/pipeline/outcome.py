"""What a pipeline run ended with: its own module, so the window can name it without
importing the pipeline engine (docker, GitPython, the YAML reader)."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.core.errors import DockyardError
from dockyard.core.model import Run
from dockyard.core.releases import DeploymentOutcome


@dataclass
class PipelineOutcome:
    run: Run
    error: DockyardError | None
    deployments: tuple[DeploymentOutcome, ...] = ()
