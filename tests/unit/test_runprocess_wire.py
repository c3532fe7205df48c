"""One serialiser per record: the window's pipeline child sends runs in the form
``dockyard run --json`` prints, and the parent gets them back whole."""

from __future__ import annotations

import json

from dockyard.core.errors import UserInputError
from dockyard.core.model import Run, RunStatus, Stage, StageStatus, utcnow
from dockyard.core.releases import DeploymentOutcome, OutcomeStatus
from dockyard.engine.pipeline.runprocess import error_from_wire, error_to_wire

NOW = utcnow()
RUN = Run(
    id="r1", repo="/src/app", ref="v1.0.0", commit="c" * 40, status=RunStatus.FAILED,
    created=NOW, finished=NOW, author="Ann", message="fix", tag="v1.0.0", started_by="ann",
    image_name="localhost:5000/app", digest="sha256:" + "d" * 64, error="boom",
    warnings=["careful"],
    stages=[Stage("checkout", StageStatus.SUCCEEDED, NOW, NOW, "ok"), Stage("build")],
)  # fmt: skip


def test_the_wire_keeps_every_field_of_a_run() -> None:
    assert Run.from_json(json.loads(json.dumps(RUN.to_json(precise=True)))) == RUN
    error = error_from_wire(error_to_wire(UserInputError("bad", details="line 3")))
    assert isinstance(error, UserInputError) and (error.message, error.details) == ("bad", "line 3")


def test_the_wire_is_the_cli_form_with_exact_times_and_the_commit_text() -> None:
    deployed = [DeploymentOutcome("staging", OutcomeStatus("deployed"), "sha256:" + "d" * 64)]
    printed, sent = RUN.to_json(deployed), RUN.to_json(deployed, precise=True)
    assert set(sent) - set(printed) == {"author", "message"}
    assert printed["created"] == NOW.isoformat(timespec="seconds")
    assert sent["created"] == NOW.isoformat()
    assert printed["image"] == {"name": "localhost:5000/app", "digest": "sha256:" + "d" * 64}
    assert printed["stages"][1] == {
        "name": "build", "status": "pending", "started": None, "finished": None, "summary": None
    }  # fmt: skip
    assert printed["deployments"] == [d.to_json() for d in deployed]
