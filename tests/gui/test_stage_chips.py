"""Stage chips: deployment stages are named by their environment, so a row's chips fit."""

from __future__ import annotations

from dockyard.core.model import Run, RunStatus, Stage, StageStatus
from dockyard.ui.icons import icon_path, status_icon
from dockyard.ui.stagechips import CHIP_COLOURS, chip_label, chips


def test_deployment_chips_say_where_the_release_went() -> None:
    assert chip_label("deploy-production") == "→ production"
    assert chip_label("deploy-eu-west") == "→ eu-west"
    assert chip_label("build") == "build"


def test_a_superseded_run_says_so_in_its_chips_and_icon() -> None:
    stages = [Stage("build", StageStatus.SUCCEEDED), Stage("deploy-staging", StageStatus.SUCCEEDED)]
    waiting = Run("r1", "/repo", "v1", status=RunStatus.AWAITING_APPROVAL, stages=stages)
    superseded = Run("r2", "/repo", "v1", status=RunStatus.SUPERSEDED, stages=stages)
    assert chips(waiting)[-1] == ("awaiting approval", "awaiting_approval")
    assert chips(superseded) == [
        ("build", "succeeded"),
        ("→ staging", "succeeded"),
        ("superseded", "superseded"),
    ]
    assert CHIP_COLOURS["superseded"] != CHIP_COLOURS["awaiting_approval"]
    assert icon_path("status-superseded") is not None
    assert not status_icon("superseded").isNull()
    done = Run("r3", "/repo", "v1", status=RunStatus.SUCCEEDED, stages=stages)
    assert [label for label, _ in chips(done)] == ["build", "→ staging"]
