"""Deployers: container mode, Swarm service mode and stack mode, plus the reconciler.

``deployers.deployer_for(mode, client)`` picks one; each deploys by digest, labels what it
creates (``LABELS``) and reports what runs through ``inspect``. The deployers need Docker's
SDK (~0.1 s to import), so this package does not import them: what only reads, like
``dockyard status``, reads through ``live.running_in`` without the SDK.
"""

from __future__ import annotations

from dockyard.engine.deploy.labels import LABELS, resource_name
from dockyard.engine.deploy.reconcile import DockerEventWatcher, drift_of
from dockyard.engine.deploy.snapshot import build_snapshot, parse_env_file
from dockyard.engine.deploy.spec import (
    ConfigFile,
    ConfigSnapshot,
    Deployer,
    DeploymentRequest,
    RunningRelease,
    diff_snapshots,
)

__all__ = [
    "LABELS",
    "ConfigFile",
    "ConfigSnapshot",
    "Deployer",
    "DeploymentRequest",
    "DockerEventWatcher",
    "RunningRelease",
    "build_snapshot",
    "diff_snapshots",
    "drift_of",
    "parse_env_file",
    "resource_name",
]
