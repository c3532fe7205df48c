"""Builds with BuildKit through the real docker CLI against the test daemon.

Dockerfiles use what the legacy builder refuses (RUN --mount=type=cache and type=secret,
COPY --chmod); build secrets come from the real keyring and must reach neither the image
nor the log.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.core.model import RunStatus, StageStatus
from dockyard.core.pipeline_file import BUILD_SECRETS_SCOPE
from dockyard.engine.secrets import SecretStore
from integration.pipeline_runs import log_of, run
from testbed.cli import remove_images
from testbed.cli import run_dockyard as dockyard
from testbed.gitrepos import GitRepo, make_app_repo

pytestmark = [pytest.mark.docker, pytest.mark.keyring]

BUILDKIT_DOCKERFILE = """\
FROM busybox:stable
RUN --mount=type=cache,target=/cache echo cached >> /cache/runs && cp /cache/runs /cache-seen
RUN --mount=type=secret,id=npm_token sha256sum /run/secrets/npm_token | cut -c1-64 > /token.sha \\
    && echo "installing with token $(cat /run/secrets/npm_token)"
COPY --chmod=0750 app.sh /app.sh
CMD ["sh", "/app.sh"]
"""

HEREDOC_DOCKERFILE = """\
FROM busybox:stable
RUN <<EOT
echo made by a heredoc > /heredoc
EOT
"""


def app_repo(tmp_path: Path, name: str, dockerfile: str, yml: str = "") -> GitRepo:
    repo = make_app_repo(tmp_path / name, dockyard_yml=f"test: false\n{yml}", compose_test=None)
    repo.commit("Dockerfile for BuildKit", {"Dockerfile": dockerfile})
    return repo


def in_image(client: docker.DockerClient, image: str, script: str) -> str:
    output = client.containers.run(image, ["sh", "-c", script], remove=True, network_mode="none")
    return output.decode().strip()


def test_cache_and_secret_mounts_and_copy_chmod_build_and_the_secret_stays_out(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = app_repo(tmp_path, "mounts", BUILDKIT_DOCKERFILE, "build:\n  secrets: [npm_token]\n")
    token = f"npm-{uuid.uuid4().hex}"
    store, key = SecretStore(), normalise_location(str(repo.path))
    store.set(key, BUILD_SECRETS_SCOPE, "npm_token", token)
    image = f"dockyard/mounts:{repo.head}"
    try:
        outcome = run(dockyard_home, repo)
        log = log_of(dockyard_home, outcome.run.id, "build")
        assert outcome.run.status == RunStatus.SUCCEEDED, (outcome.run.error, log)
        assert "Building with " in log and "(BuildKit)" in log
        assert "#1 [internal] load build definition from Dockerfile" in log  # --progress=plain
        # The secret was there during the build, and is in neither the log nor the image.
        assert "installing with token •••" in log and token not in log
        expected = hashlib.sha256(token.encode()).hexdigest()
        assert in_image(docker_client, image, "cat /token.sha") == expected
        absent = "cat /run/secrets/npm_token 2>/dev/null || echo absent"
        assert in_image(docker_client, image, absent) == "absent"
        history = docker_client.api.history(image)
        assert all(token not in str(layer.get("CreatedBy", "")) for layer in history)
        assert in_image(docker_client, image, "stat -c %a /app.sh") == "750"
        assert in_image(docker_client, image, "cat /cache-seen") == "cached"
        labels = docker_client.images.get(image).labels
        assert labels["dockyard.run"] == outcome.run.id
        assert labels["org.opencontainers.image.revision"] == repo.head
        assert docker_client.images.get(image).id == outcome.run.digest
    finally:
        store.delete(key, BUILD_SECRETS_SCOPE, "npm_token")
        remove_images(docker_client, "dockyard/mounts:")


def test_a_missing_build_secret_says_how_to_set_it(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = app_repo(tmp_path, "nosecret", BUILDKIT_DOCKERFILE, "build:\n  secrets: [npm_token]\n")
    result = dockyard(dockyard_home, "run", str(repo.path))
    assert result.returncode == 2, result.stderr
    key = normalise_location(str(repo.path))
    assert (
        f"dockyard: Build secret 'npm_token' is not in the keyring; set it with: "
        f"dockyard secret set {key} build npm_token" in result.stderr
    )


def test_a_failing_step_is_named(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = app_repo(tmp_path, "failing", "FROM busybox:stable\nRUN echo about to fail && exit 7\n")
    outcome = run(dockyard_home, repo)
    assert outcome.run.stage("build").status == StageStatus.FAILED
    assert outcome.error is not None
    message = outcome.error.message
    assert message.startswith("The build failed at step [")
    assert "RUN echo about to fail && exit 7: " in message and "exit code: 7" in message
    assert "about to fail" in log_of(dockyard_home, outcome.run.id, "build")


def test_a_build_past_its_timeout_is_stopped_and_the_step_named(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = app_repo(
        tmp_path, "hanging", "FROM busybox:stable\nRUN sleep 300\n", "build:\n  timeout: 4s\n"
    )
    outcome = run(dockyard_home, repo)
    assert outcome.run.status == RunStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.message.startswith(
        "The build did not finish within 4s; it was stopped during step ["
    )
    assert "RUN sleep 300. Raise build.timeout" in outcome.error.message


def daemon_major(client: docker.DockerClient) -> int:
    return int(str(client.version()["Version"]).split(".")[0])


def test_a_heredoc_builds_where_the_engine_reads_them(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    if daemon_major(docker_client) < 23:
        pytest.skip("the engine's built-in Dockerfile frontend reads heredocs from 23.0 on")
    repo = app_repo(tmp_path, "heredoc", HEREDOC_DOCKERFILE)
    try:
        outcome = run(dockyard_home, repo)
        assert outcome.run.status == RunStatus.SUCCEEDED, outcome.run.error
        image = f"dockyard/heredoc:{repo.head}"
        assert in_image(docker_client, image, "cat /heredoc") == "made by a heredoc"
    finally:
        remove_images(docker_client, "dockyard/heredoc:")


def test_a_heredoc_on_an_older_engine_says_what_to_do(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    if daemon_major(docker_client) >= 23:
        pytest.skip("this engine reads heredocs")
    repo = app_repo(tmp_path, "oldheredoc", HEREDOC_DOCKERFILE)
    outcome = run(dockyard_home, repo)
    assert outcome.error is not None
    assert outcome.error.message.endswith(
        "; heredocs (<<EOF) need Docker Engine 23.0 or later on the build host, or a "
        "'# syntax=docker/dockerfile:1' line (which pulls that frontend image)."
    )


def test_cancelling_a_buildkit_build_kills_the_cli(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    from dockyard.engine.events import CancelToken, Event, StageChanged

    repo = app_repo(tmp_path, "cancelled", "FROM busybox:stable\nRUN sleep 300\n")
    cancel = CancelToken()

    def sink(event: Event) -> None:
        stage = event.stage if isinstance(event, StageChanged) else None
        if stage is not None and stage.name == "build" and stage.status == StageStatus.RUNNING:
            threading.Timer(3.0, cancel.cancel).start()

    outcome = run(dockyard_home, repo, sink=sink, cancel=cancel)
    assert outcome.run.status == RunStatus.CANCELLED
    assert outcome.run.stage("build").status == StageStatus.CANCELLED
    assert not [pid for pid in os.listdir("/proc") if _is_build_cli_of(pid, repo.path)]


def _is_build_cli_of(pid: str, path: Path) -> bool:
    try:
        return str(path) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def env_without_docker_cli(tmp_path: Path) -> dict[str, str]:
    """A PATH with git and no docker CLI: the machine where only the legacy builder works."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("git") or "/usr/bin/git", bin_dir / "git")
    return {**os.environ, "PATH": str(bin_dir)}


def test_without_a_buildkit_cli_the_legacy_builder_builds_and_says_so(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    """A machine whose only docker CLI is 23.0+ without the buildx plugin (or none)."""
    repo = make_app_repo(tmp_path / "legacy", dockyard_yml="test: false\n", compose_test=None)
    env = env_without_docker_cli(tmp_path)
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), "--json", env=env)
        assert result.returncode == 0, result.stderr
        log = dockyard(dockyard_home, "logs", json.loads(result.stdout)["id"], "--stage", "build")
        assert "BuildKit is not available" in log.stdout and "legacy builder" in log.stdout
        # And build secrets, which only BuildKit can mount, are refused in one sentence.
        repo.commit("secrets", {"dockyard.yml": "test: false\nbuild:\n  secrets: [tok]\n"})
        SecretStore().set(normalise_location(str(repo.path)), BUILD_SECRETS_SCOPE, "tok", "t0k")
        refused = dockyard(dockyard_home, "run", str(repo.path), env=env)
        assert refused.returncode == 2, refused.stderr
        assert "dockyard: build.secrets needs BuildKit" in refused.stderr
    finally:
        SecretStore().delete(normalise_location(str(repo.path)), BUILD_SECRETS_SCOPE, "tok")
        remove_images(docker_client, "dockyard/legacy:")


def test_the_legacy_builder_stops_a_build_past_its_timeout_and_names_the_step(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = app_repo(
        tmp_path,
        "legacy-hang",
        "FROM busybox:stable\nRUN sleep 300\n",
        # The test daemon has no default bridge: RUN steps need the host's network.
        "build:\n  timeout: 4s\n  network: host\n",
    )
    env = env_without_docker_cli(tmp_path)
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), env=env)
        assert result.returncode == 1, result.stderr
        assert (
            "The build did not finish within 4s; it was stopped during step RUN sleep 300. "
            "Raise build.timeout" in result.stderr
        )
        # The daemon stopped the build with its client: no step container sleeps on.
        deadline = time.monotonic() + 30
        while any(
            "sleep 300" in str(c.attrs.get("Path", "")) + " ".join(c.attrs.get("Args") or [])
            for c in docker_client.containers.list(all=False, ignore_removed=True)
        ):
            assert time.monotonic() < deadline, "the legacy build kept running"
            time.sleep(0.5)
    finally:
        remove_images(docker_client, "dockyard/legacy-hang:")


def test_the_legacy_builder_names_a_base_image_it_cannot_pull(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = app_repo(tmp_path, "legacy-nobase", "FROM dockyard-test/no-such-base:1\nRUN true\n")
    result = dockyard(dockyard_home, "run", str(repo.path), env=env_without_docker_cli(tmp_path))
    assert result.returncode == 1, result.stderr
    assert (
        "The build could not get its base image dockyard-test/no-such-base:1 (FROM in "
        "Dockerfile): " in result.stderr
    )
    assert "docker pull dockyard-test/no-such-base:1" in result.stderr


def test_a_base_image_that_cannot_be_pulled_is_named_with_what_to_do(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = app_repo(tmp_path, "nobase", "FROM dockyard-test/no-such-base:1\nRUN true\n")
    outcome = run(dockyard_home, repo)
    assert outcome.error is not None
    message = outcome.error.message
    base = "docker.io/dockyard-test/no-such-base:1"
    assert message.startswith(
        f"The build could not get its base image {base} (FROM in Dockerfile): "
    )
    assert "registry-1.docker.io" in message  # the daemon's reason, here: no network
    assert message.endswith(
        f"; check the image's name and tag, pull it on the build host (docker pull {base}) "
        "or configure a registry mirror, then run again."
    )
    assert "failed to solve" not in message
