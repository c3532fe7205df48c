"""Pipelines that really run, through the real daemon, registry and compose."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import docker
import pytest

from dockyard.core.model import RunStatus, StageStatus
from dockyard.engine.events import CancelToken, Event, StageChanged
from dockyard.store.database import open_database
from dockyard.store.images import ImageStore
from integration.pipeline_runs import log_of, run
from testbed.cli import remove_images
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker


def test_passing_run_builds_tests_and_delivers_by_digest(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/shop/web"
    repo = make_app_repo(
        tmp_path / "web",
        dockyard_yml=f"image: {image}\nbuild:\n  args: {{APP_VERSION: '${{DOCKYARD_GIT_TAG}}'}}\n",
    )
    repo.tag("v1.0.0")
    try:
        outcome = run(dockyard_home, repo, "v1.0.0")
        result = outcome.run
        assert result.status == RunStatus.SUCCEEDED, result.error
        assert [s.status for s in result.stages] == [StageStatus.SUCCEEDED] * 4
        assert result.commit == repo.head and result.tag == "v1.0.0"
        # The digest in the registry is the recorded one.
        assert docker_client.images.get_registry_data(f"{image}:v1.0.0").id == result.digest
        recorded = ImageStore(open_database(dockyard_home)).by_digest(result.repo, result.digest)
        assert recorded is not None and recorded.tested and recorded.tag == "v1.0.0"
        labels = docker_client.images.get(f"{image}@{result.digest}").labels
        assert labels["org.opencontainers.image.revision"] == repo.head
        assert labels["org.opencontainers.image.version"] == "v1.0.0"
        assert labels["dockyard.run"] == result.id
        assert "tests passed" in log_of(dockyard_home, result.id, "test")
    finally:
        remove_images(docker_client, image + ":")


def test_failing_test_fails_the_run_and_keeps_its_log(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    failing = (
        "services:\n  sut:\n    image: ${DOCKYARD_IMAGE}\n"
        "    command: [sh, -c, 'echo checking; exit 3']\n"
    )
    repo = make_app_repo(tmp_path / "broken", compose_test=failing)
    try:
        outcome = run(dockyard_home, repo)
        assert outcome.run.status == RunStatus.FAILED
        assert outcome.run.stage("test").status == StageStatus.FAILED
        assert outcome.run.stage("deliver").status == StageStatus.SKIPPED
        assert outcome.error is not None and outcome.error.exit_code == 1
        assert "exited with code 3" in outcome.error.message
        assert "checking" in log_of(dockyard_home, outcome.run.id, "test")
    finally:
        remove_images(docker_client, "dockyard/broken:")


def test_compose_failing_before_the_test_runs_says_why(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    unstartable = (
        "services:\n  sut:\n    image: ${DOCKYARD_IMAGE}\n    command: [echo, ok]\n"
        "networks:\n  default:\n    external: true\n    name: dockyard-no-such-network\n"
    )
    repo = make_app_repo(tmp_path / "nonet", compose_test=unstartable)
    try:
        outcome = run(dockyard_home, repo)
        assert outcome.run.status == RunStatus.FAILED
        assert outcome.error is not None
        # Not "service 'sut' exited with code 1": the service never ran.
        assert outcome.error.message.startswith("Compose could not run the test (")
        assert "dockyard-no-such-network" in outcome.error.message
    finally:
        remove_images(docker_client, "dockyard/nonet:")


def test_build_error_reports_the_daemons_message(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "badbuild")
    repo.commit("break the build", {"Dockerfile": "FROM busybox:stable\nRUN exit 7\n"})
    outcome = run(dockyard_home, repo)
    assert outcome.run.status == RunStatus.FAILED
    assert outcome.run.stage("build").status == StageStatus.FAILED
    assert outcome.error is not None
    assert "exit code: 7" in outcome.error.message


def test_bad_dockyard_yml_names_file_and_line(tmp_path: Path, dockyard_home: Path) -> None:
    repo = make_app_repo(tmp_path / "badfile", dockyard_yml="image: x/y\ntest:\n  timeout: soon\n")
    outcome = run(dockyard_home, repo)
    assert outcome.run.status == RunStatus.FAILED
    assert outcome.error is not None and outcome.error.exit_code == 2
    assert "dockyard.yml:3: test.timeout" in outcome.error.message


def test_file_is_read_from_the_commit_not_the_working_tree(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "dirty")
    (repo.path / "dockyard.yml").write_text("this: is not committed\n")
    (repo.path / "Dockerfile").write_text("FROM busybox:stable\nRUN exit 9\n")
    try:
        outcome = run(dockyard_home, repo)
        assert outcome.run.status == RunStatus.SUCCEEDED, outcome.run.error
    finally:
        remove_images(docker_client, "dockyard/dirty:")


def test_cancelled_run_leaves_nothing_behind(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    slow = (
        "services:\n  sut:\n    image: ${DOCKYARD_IMAGE}\n"
        "    command: [sh, -c, 'echo started; sleep 300']\n"
        "  db:\n    image: busybox:stable\n    command: [sleep, '300']\n"
    )
    repo = make_app_repo(tmp_path / "slow", compose_test=slow)
    cancel = CancelToken()

    def sink(event: Event) -> None:
        # Cancel as soon as the test stage's containers are up and logging.
        stage = event.stage if isinstance(event, StageChanged) else None
        if stage is not None and stage.name == "test" and stage.status == StageStatus.RUNNING:
            threading.Timer(3.0, cancel.cancel).start()

    try:
        outcome = run(dockyard_home, repo, sink=sink, cancel=cancel)
        assert outcome.run.status == RunStatus.CANCELLED
        assert outcome.run.stage("test").status == StageStatus.CANCELLED
        # docker_client's teardown fails the test if a container or network is left.
    finally:
        remove_images(docker_client, "dockyard/slow:")


def test_run_from_a_git_url(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "remote")
    repo.tag("v2.0.0")
    try:
        outcome = run(dockyard_home, f"file://{repo.path}", "v2.0.0")
        assert outcome.run.status == RunStatus.SUCCEEDED, outcome.run.error
        assert outcome.run.commit == repo.head
        # A second run fetches into the same cache.
        newer = repo.commit("second", {"README": "hello\n"})
        again = run(dockyard_home, f"file://{repo.path}", "main")
        assert again.run.commit == newer
    finally:
        remove_images(docker_client, "dockyard/remote:")


def test_cancelling_a_build_stops_the_daemons_work(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "slowbuild")
    repo.commit("slow", {"Dockerfile": "FROM busybox:stable\nRUN echo building && sleep 300\n"})
    cancel = CancelToken()

    def sink(event: Event) -> None:
        stage = event.stage if isinstance(event, StageChanged) else None
        if stage is not None and stage.name == "build" and stage.status == StageStatus.RUNNING:
            threading.Timer(2.0, cancel.cancel).start()

    started = time.monotonic()
    outcome = run(dockyard_home, repo, sink=sink, cancel=cancel)
    assert outcome.run.status == RunStatus.CANCELLED
    assert outcome.run.stage("build").status == StageStatus.CANCELLED
    assert time.monotonic() - started < 60
    # The daemon removes the build's container once the client goes away.
    deadline = time.monotonic() + 30
    while (
        docker_client.containers.list(all=True, ignore_removed=True) and time.monotonic() < deadline
    ):
        time.sleep(0.5)
