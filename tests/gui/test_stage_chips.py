"""Stage chips: deployment stages are named by their environment, so a row's chips fit."""

from __future__ import annotations

from dockyard.ui.stagechips import chip_label


def test_deployment_chips_say_where_the_release_went() -> None:
    assert chip_label("deploy-production") == "→ production"
    assert chip_label("deploy-eu-west") == "→ eu-west"
    assert chip_label("build") == "build"
