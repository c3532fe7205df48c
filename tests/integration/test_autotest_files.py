"""Docker Hub Autotest files run unchanged: test runners with their own Dockerfile, and
version 1 compose files, through the real daemon and Debian's docker-compose."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from dockyard.core.model import RunStatus
from integration.pipeline_runs import log_of, run
from testbed.cli import remove_images
from testbed.gitrepos import make_app_repo

pytestmark = pytest.mark.docker

# The marker exists only in the image Dockerfile.test makes: the app image has no /marker.
DOCKERFILE_TEST = """\
FROM busybox:stable
RUN echo from-dockerfile-test > /marker
COPY check.sh /check.sh
CMD ["sh", "/check.sh"]
"""

CHECK = """\
set -e
test "$(cat /marker)" = from-dockerfile-test
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  page=$(wget -q -O- http://app/ 2>/dev/null) && break
  sleep 1
done
echo "the app said: $page"
test "$page" = "ok dev"
echo "sut checks passed"
"""

SUT_FROM_DOCKERFILE_TEST = """\
services:
  app:
    build: .
  sut:
    build:
      context: .
      dockerfile: Dockerfile.test
    depends_on: [app]
"""

VERSION_1 = """\
sut:
  build: .
  command: sh -c "test -f /app.sh && test \\"$$(cat /version)\\" = dev && echo v1 file passed"
"""


def test_a_sut_from_its_own_dockerfile_is_built_by_compose_and_checks_the_tested_app(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    # Without the fix the sut ran the app's server until the timeout: fail fast instead.
    repo = make_app_repo(
        tmp_path / "autotest", compose_test=None, dockyard_yml="test:\n  timeout: 2m\n"
    )
    repo.commit(
        "Autotest file",
        {
            "docker-compose.test.yml": SUT_FROM_DOCKERFILE_TEST,
            "Dockerfile.test": DOCKERFILE_TEST,
            "check.sh": CHECK,
        },
    )
    images_before = {image.id for image in docker_client.images.list()}
    try:
        outcome = run(dockyard_home, repo)
        log = log_of(dockyard_home, outcome.run.id, "test")
        assert outcome.run.status == RunStatus.SUCCEEDED, (outcome.run.error, log)
        assert "the app said: ok dev" in log and "sut checks passed" in log
        assert "Tested image for the pipeline's own build: app" in log
        assert "Built by compose from their own Dockerfile: sut" in log
        # The test runner's image went with the test; the tested image stays.
        left = {image.id for image in docker_client.images.list()} - images_before
        assert [image.tags for image in map(docker_client.images.get, left)] == [
            [f"dockyard/autotest:{repo.head}"]
        ]
    finally:
        remove_images(docker_client, "dockyard/autotest:")


def test_a_version_1_test_file_runs_the_tested_image(
    tmp_path: Path, dockyard_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "oldformat", compose_test=None)
    repo.commit("v1 Autotest file", {"docker-compose.test.yml": VERSION_1})
    try:
        outcome = run(dockyard_home, repo)
        log = log_of(dockyard_home, outcome.run.id, "test")
        assert outcome.run.status == RunStatus.SUCCEEDED, (outcome.run.error, log)
        assert "docker-compose.test.yml is a version 1 compose file" in log
        assert "v1 file passed" in log
    finally:
        remove_images(docker_client, "dockyard/oldformat:")
