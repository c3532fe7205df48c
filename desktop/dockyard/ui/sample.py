"""The sample repository a newcomer creates from the empty window.

A tiny web app whose pipeline shows the whole flow in a minute: build, a compose test,
an automatic ``staging`` and a ``production`` that waits for an approval, and two
tagged releases to promote and roll back between. No Qt here, so tests and scripts can
create it too.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import UserInputError

if TYPE_CHECKING:
    import git

DOCKERFILE = """\
FROM busybox:stable
ARG APP_VERSION=dev
RUN mkdir -p /www && echo "ok $APP_VERSION" > /www/index.html
HEALTHCHECK --interval=2s --timeout=2s --retries=5 \\
  CMD wget -q -O- http://127.0.0.1/ || exit 1
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"""

COMPOSE_TEST = """\
services:
  sut:
    image: ${DOCKYARD_IMAGE}
    command:
      - sh
      - -c
      - >-
        httpd -p 8000 -h /www && wget -q -O- http://127.0.0.1:8000/ | grep -q ok
        && echo tests passed
"""

DOCKYARD_YML = """\
build:
  args:
    APP_VERSION: "${DOCKYARD_GIT_TAG:-dev}"

test:
  compose: compose.test.yml
  service: sut
  timeout: 5m

environments:
  staging:
    mode: container
    auto: true
    ports: ["{staging_port}:80"]
  production:
    mode: service
    after: staging
    approval: {required: 1, self_approval: false}
    ports: ["{production_port}:80"]
"""

README = """\
# Dockyard sample

A tiny web server (busybox httpd) with a Dockerfile, a compose test (`compose.test.yml`)
and a pipeline (`dockyard.yml`): every run builds and tests the image, deploys it to
`staging` automatically, and waits for an approval before `production`.
"""

SAMPLE_AUTHOR = ("Dockyard Sample", "sample@dockyard.invalid")


def free_port(preferred: int, taken: tuple[int, ...] = ()) -> int:
    """``preferred`` when nothing listens on it, else a port the system says is free:
    a sample that fails its first deployment because 8080 is taken teaches nothing."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("0.0.0.0", candidate))
            except OSError:
                continue
            port = int(probe.getsockname()[1])
            if port not in taken:
                return port
    return preferred  # let the deployment say what is wrong


def default_sample_folder(home: Path) -> Path:
    """A folder under ``home/samples`` that does not exist yet."""
    base = home / "samples" / "hello-dockyard"
    candidate, suffix = base, 2
    while candidate.exists():
        candidate, suffix = base.with_name(f"hello-dockyard-{suffix}"), suffix + 1
    return candidate


def create_sample_repository(folder: Path) -> Path:
    """Create the sample git repository in ``folder`` (new or empty) and return its path."""
    if folder.exists() and any(folder.iterdir()):
        raise UserInputError(f"{folder} is not empty; pick an empty or new folder.")
    folder.mkdir(parents=True, exist_ok=True)
    import git  # GitPython (~70 ms to import) is not needed to open the window

    staging = free_port(8080)
    repo = git.Repo.init(folder, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", SAMPLE_AUTHOR[0])
        config.set_value("user", "email", SAMPLE_AUTHOR[1])
    _commit(
        repo,
        "Sample web app with a compose test and two environments",
        {
            "Dockerfile": DOCKERFILE,
            "compose.test.yml": COMPOSE_TEST,
            "dockyard.yml": DOCKYARD_YML.replace("{staging_port}", str(staging)).replace(
                "{production_port}", str(free_port(8081, (staging,)))
            ),
            "README.md": README,
        },
    )
    repo.create_tag("v1.0.0", message="release v1.0.0")
    _commit(repo, "Say hello in the README", {"README.md": README + "\nHello from v1.1.0.\n"})
    repo.create_tag("v1.1.0", message="release v1.1.0")
    repo.close()
    return folder


def _commit(repo: git.Repo, message: str, files: dict[str, str]) -> None:
    root = Path(str(repo.working_tree_dir))
    for name, text in files.items():
        (root / name).write_text(text)
    repo.index.add(list(files))
    repo.index.commit(message)
