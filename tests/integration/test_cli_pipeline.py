"""The real ``dockyard`` command as a subprocess: JSON, exit codes, one-sentence errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.core.releases import OutcomeStatus
from dockyard.engine.secrets import SecretStore
from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from integration.pipeline_runs import run
from testbed.cli import modules_imported_by, remove_images
from testbed.cli import run_dockyard as dockyard
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker


def test_run_json_runs_and_logs(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "cliapp")
    repo.tag("v1.0.0")
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), "--ref", "v1.0.0", "--json")
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["status"] == "succeeded"
        assert data["ref"] == "v1.0.0" and data["commit"] == repo.head
        assert [s["name"] for s in data["stages"]] == ["checkout", "build", "test", "deliver"]
        assert data["image"]["digest"].startswith("sha256:")
        assert data["deployments"] == []

        listed = json.loads(dockyard(dockyard_home, "runs", str(repo.path), "--json").stdout)
        assert [r["id"] for r in listed] == [data["id"]]
        # The window lists every repository that has runs, without adding it by hand.
        stored = RepositoryStore(open_database(dockyard_home)).list()
        assert [r.location for r in stored] == [normalise_location(str(repo.path))]

        logs = dockyard(dockyard_home, "logs", data["id"], "--stage", "test")
        assert logs.returncode == 0
        assert "tests passed" in logs.stdout
    finally:
        remove_images(docker_client, "dockyard/cliapp:")


def test_a_run_speaks_to_a_local_daemon_without_docker_s_sdk(
    tmp_path: Path, dockyard_home: Path, registry: LocalRegistry, docker_client: docker.DockerClient
) -> None:
    # Build, compose test, its teardown (the fixture fails the test for anything left
    # behind) and push over the daemon's socket: docker-py, requests and urllib3 (~0.1 s to
    # import, a tenth of this run) are never loaded.
    image = f"{registry.host}/cli/nosdk"
    repo = make_app_repo(tmp_path / "nosdk", dockyard_yml=f"image: {image}\n")
    try:
        code, printed, modules = modules_imported_by(
            dict(os.environ), "run", str(repo.path), "--json"
        )
        assert code == 0, printed
        data = json.loads(printed)
        assert data["status"] == "succeeded"
        pushed = docker_client.images.get_registry_data(f"{image}:{repo.head}")
        assert data["image"]["digest"] == pushed.id
        assert {name.split(".")[0] for name in modules}.isdisjoint(
            {"docker", "requests", "urllib3"}
        )
        logs = dockyard(dockyard_home, "logs", data["id"], "--stage", "test").stdout
        assert "tests passed" in logs
    finally:
        remove_images(docker_client, f"{image}:", f"{image}@")


def test_exit_codes_and_messages(tmp_path: Path, dockyard_home: Path) -> None:
    not_a_repo = tmp_path / "plain"
    not_a_repo.mkdir()
    result = dockyard(dockyard_home, "run", str(not_a_repo))
    assert result.returncode == 2
    assert "is not a git repository" in result.stderr
    assert RepositoryStore(open_database(dockyard_home)).list() == []
    assert "Traceback" not in result.stderr

    repo = make_app_repo(tmp_path / "badyml", dockyard_yml="imgae: x/y\n")
    result = dockyard(dockyard_home, "run", str(repo.path), "--json")
    assert result.returncode == 2
    assert "dockyard.yml:1: imgae: unknown key; did you mean 'image'?" in result.stderr
    assert json.loads(result.stdout)["status"] == "failed"

    result = dockyard(dockyard_home, "run", str(repo.path), "--ref", "v9.9.9")
    assert result.returncode == 2
    assert "Unknown ref 'v9.9.9'" in result.stderr

    result = dockyard(dockyard_home, "logs", "nosuchrun")
    assert result.returncode == 2 and "There is no run" in result.stderr


def test_unreachable_daemon_exits_3(tmp_path: Path, dockyard_home: Path) -> None:
    repo = make_app_repo(tmp_path / "nodaemon")
    env_host = f"unix://{tmp_path}/missing.sock"
    result = subprocess.run(
        [sys.executable, "-m", "dockyard", "run", str(repo.path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKYARD_HOME": str(dockyard_home), "DOCKER_HOST": env_host},
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "unreachable" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.keyring
def test_secret_values_are_redacted_from_logs(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    secret = f"hunter2-{uuid.uuid4().hex[:10]}"
    compose = (
        "services:\n  sut:\n    image: ${DOCKYARD_IMAGE}\n"
        f"    command: [sh, -c, 'echo the password is {secret}']\n"
    )
    yml = "environments:\n  staging:\n    mode: service\n    secrets: [db_password]\n"
    repo = make_app_repo(tmp_path / "redact", dockyard_yml=yml, compose_test=compose)
    stored = dockyard(
        dockyard_home,
        "secret",
        "set",
        str(repo.path),
        "staging",
        "db_password",
        stdin=secret + "\n",
    )
    assert stored.returncode == 0, stored.stderr
    try:
        outcome = run(dockyard_home, repo)
        log = dockyard(dockyard_home, "logs", outcome.run.id, "--stage", "test").stdout
        assert "the password is •••" in log
        every_log = b"".join(p.read_bytes() for p in (dockyard_home / "logs").rglob("*.log"))
        assert secret.encode() not in every_log
        assert secret.encode() not in (dockyard_home / "dockyard.db").read_bytes()
        assert outcome.deployments[0].status is OutcomeStatus.AWAITING_APPROVAL
    finally:
        SecretStore().delete(str(repo.path), "staging", "db_password")
        remove_images(docker_client, "dockyard/redact:")


def test_second_run_of_the_same_ref_queues(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    from dockyard.core.model import RunStatus
    from dockyard.engine.events import Event, RunChanged

    slow = "services:\n  sut:\n    image: ${DOCKYARD_IMAGE}\n    command: [sleep, '3']\n"
    repo = make_app_repo(tmp_path / "queue", compose_test=slow)
    seen: list[tuple[str, RunStatus]] = []
    lock = threading.Lock()

    def sink(event: Event) -> None:
        if isinstance(event, RunChanged):
            with lock:
                seen.append((event.run.id, event.run.status))

    def one() -> None:
        run(dockyard_home, repo, "main", sink=sink)

    try:
        threads = [threading.Thread(target=one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        # The runs never overlap: one finishes before the other starts running.
        order = [(rid, status) for rid, status in seen if status != RunStatus.QUEUED]
        first = order[0][0]
        first_done = max(i for i, (rid, st) in enumerate(order) if rid == first)
        second_start = min(i for i, (rid, st) in enumerate(order) if rid != first)
        assert first_done < second_start, order
    finally:
        remove_images(docker_client, "dockyard/queue:")


def test_logs_keep_colours_only_on_a_terminal_unless_asked(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    coloured = "test:\n  command: \"printf '\\\\033[31mred alert\\\\033[0m\\\\n'\"\n"
    repo = make_app_repo(tmp_path / "colours", dockyard_yml=coloured, compose_test=None)
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), "--json")
        assert result.returncode == 0, result.stderr
        run_id = json.loads(result.stdout)["id"]
        piped = dockyard(dockyard_home, "logs", run_id, "--stage", "test")
        assert piped.returncode == 0, piped.stderr
        assert "red alert" in piped.stdout and "\x1b" not in piped.stdout
        kept = dockyard(dockyard_home, "logs", run_id, "--stage", "test", "--color=always")
        assert "\x1b[31mred alert\x1b[0m" in kept.stdout
        never = dockyard(dockyard_home, "logs", run_id, "--color", "never")
        assert "\x1b" not in never.stdout and "red alert" in never.stdout
    finally:
        remove_images(docker_client, "dockyard/colours:")


def test_an_unknown_ref_lists_the_latest_tags_by_version(
    tmp_path: Path, dockyard_home: Path
) -> None:
    repo = make_app_repo(tmp_path / "tagged")
    for tag in ("v3.9.0", "v3.11.1", "v3.10.0", "v3.11.1-rc1"):
        repo.tag(tag)
    result = dockyard(dockyard_home, "run", str(repo.path), "--ref", "v3.12.0")
    assert result.returncode == 2, result.stderr
    assert "(latest tags: v3.11.1, v3.11.1-rc1, v3.10.0, v3.9.0)." in result.stderr
