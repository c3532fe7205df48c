"""A store deleted while its deployments run: ``status`` and ``audit verify`` say the store
is new or empty and name what the daemon runs with Dockyard's labels."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from dockyard.engine.deploy.deployers import deployer_for
from testbed.cli import remove_images
from testbed.cli import run_dockyard as dockyard
from testbed.gitrepos import make_app_repo

pytestmark = pytest.mark.docker


def test_a_deleted_store_is_called_new_and_the_labelled_deployments_are_named(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    yml = "environments:\n  staging:\n    auto: true\n"
    repo = make_app_repo(tmp_path / "lost", dockyard_yml=yml)
    repo.tag("v1.0.0")
    location = str(repo.path)
    try:
        run = dockyard(dockyard_home, "run", location, "--ref", "v1.0.0")
        assert run.returncode == 0, run.stderr
        for leftover in dockyard_home.glob("dockyard.db*"):
            leftover.unlink()

        status = dockyard(dockyard_home, "status", location)
        assert status.returncode == 0, status.stderr
        assert f"the store {dockyard_home / 'dockyard.db'} has no record of {location}" in (
            status.stderr
        )
        assert f"staging of {location} runs v1.0.0 on local" in status.stderr
        assert "put back the store's backup" in status.stderr

        verify = dockyard(dockyard_home, "audit", "verify")
        assert verify.returncode == 0, verify.stderr
        assert "0 entries (the store" in verify.stdout and "is new or empty" in verify.stdout
        assert f"staging of {location} runs v1.0.0 on local" in verify.stderr
    finally:
        deployer_for("container", docker_client).remove(location, "staging")
        remove_images(docker_client, "dockyard/lost:")
