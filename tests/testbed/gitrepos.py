"""Real git repositories for the tests, made through GitPython."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import git

from testbed.baseimage import until_stopped

DOCKERFILE = """\
FROM busybox:stable
ARG APP_VERSION=dev
RUN echo "$APP_VERSION" > /version
COPY app.sh /app.sh
CMD ["sh", "/app.sh"]
"""

APP = f"""\
#!/bin/sh
echo "app $(cat /version) starting"
mkdir -p /www && echo "ok $(cat /version)" > /www/index.html
{until_stopped("httpd -f -p 80 -h /www")}
"""

COMPOSE_TEST = """\
services:
  sut:
    image: ${DOCKYARD_IMAGE}
    command: ["sh", "-c", "test -f /app.sh && echo tests passed"]
"""


class GitRepo:
    """A repository under construction: write files, commit, tag."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.repo = git.Repo.init(path, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Test Developer")
            config.set_value("user", "email", "dev@example.test")

    def write(self, files: dict[str, str]) -> GitRepo:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return self

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        if files:
            self.write(files)
        self.repo.git.add(A=True)
        self.repo.index.commit(message)
        return self.head

    def tag(self, name: str) -> None:
        self.repo.create_tag(name, message=f"release {name}")
        self._close()

    def branch(self, name: str) -> None:
        self.repo.create_head(name)
        self._close()

    def _close(self) -> None:
        # Ends GitPython's persistent `git cat-file` processes now: left to the garbage
        # collector, a Popen may be collected still running, a ResourceWarning (an error).
        self.repo.close()

    @contextmanager
    def unreachable(self) -> Iterator[None]:
        """The repository moved away for the block: git cannot read it at all."""
        hidden = self.path.with_name(self.path.name + "-unreachable")
        self.path.rename(hidden)
        try:
            yield
        finally:
            hidden.rename(self.path)

    @property
    def head(self) -> str:
        commit = self.repo.head.commit.hexsha
        self._close()
        return commit


def clone(source: Path, target: Path, *, bare: bool = False) -> Path:
    """``git clone`` of ``source`` to ``target`` (an origin when bare, or a member's clone)."""
    git.Repo.clone_from(str(source), str(target), bare=bare)
    return target


def make_app_repo(
    path: Path, *, dockyard_yml: str | None = None, compose_test: str | None = COMPOSE_TEST
) -> GitRepo:
    """A small web app repository with a Dockerfile and (by default) a compose test."""
    repo = GitRepo(path)
    files = {"Dockerfile": DOCKERFILE, "app.sh": APP}
    if compose_test is not None:
        files["compose.test.yml"] = compose_test
    if dockyard_yml is not None:
        files["dockyard.yml"] = dockyard_yml
    repo.commit("Initial commit", files)
    return repo
