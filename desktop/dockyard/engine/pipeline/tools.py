"""The docker and compose CLIs a run uses are found by running them (``docker buildx
version``, ``docker compose version``…: ~0.1 s on a small machine, in every process that
runs a pipeline). ``probe_tools`` starts those probes in the background as early as a run
is known to come, so they overlap its imports and checkout; whoever needs an answer first
waits for that probe instead of starting another (``core.once``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from dockyard.core.errors import DockyardError
from dockyard.engine.pipeline.buildkit import buildkit_cli
from dockyard.engine.pipeline.compose import compose_command


def probe_tools() -> None:
    """Start finding the build and compose CLIs; returns at once."""
    for probe in (buildkit_cli, compose_command):
        threading.Thread(target=_quietly, args=(probe,), daemon=True).start()


def _quietly(probe: Callable[[], object]) -> None:
    # A missing tool is said by the stage that needs it, when it asks again.
    with contextlib.suppress(DockyardError):
        probe()
