"""The child process protocol keeps runs and errors whole (engine.pipeline.runprocess)."""

from __future__ import annotations

import json

from dockyard.core.errors import UserInputError
from dockyard.core.model import Run, RunStatus, Stage, StageStatus, utcnow
from dockyard.engine.pipeline.runprocess import (
    error_from_wire,
    error_to_wire,
    run_from_wire,
    run_to_wire,
)


def test_the_wire_keeps_every_field_of_a_run() -> None:
    now = utcnow()
    run = Run(
        id="r1", repo="/src/app", ref="v1.0.0", commit="c" * 40, status=RunStatus.FAILED,
        created=now, finished=now, author="Ann", message="fix", tag="v1.0.0", started_by="ann",
        image_name="localhost:5000/app", digest="sha256:" + "d" * 64, error="boom",
        warnings=["careful"],
        stages=[Stage("checkout", StageStatus.SUCCEEDED, now, now, "ok"), Stage("build")],
    )  # fmt: skip
    assert run_from_wire(json.loads(json.dumps(run_to_wire(run)))) == run
    error = error_from_wire(error_to_wire(UserInputError("bad", details="line 3")))
    assert isinstance(error, UserInputError) and (error.message, error.details) == ("bad", "line 3")
