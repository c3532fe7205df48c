"""Files read out of a commit: symbolic links followed only inside the repository, and a
size limit checked on the blob before a byte of it is read.

Why: a committed link to ``/etc/passwd`` (or ``../../secret``) used as compose file,
env_file or config would make Dockyard read or export a file of this machine; and a
56 MB ``dockyard.yml`` took a minute and 665 MB of memory before it was refused.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dockyard.core.errors import UserInputError
from dockyard.core.pipeline_file import PipelineConfig

if TYPE_CHECKING:
    import git

MAX_FILE_BYTES = 1024 * 1024  # dockyard.yml, env_file, configs (docs/pipeline-file.md)
_LINK_MODE = 0o120000
_MAX_HOPS = 20


class RepositoryFileError(UserInputError):
    """A file of the commit that cannot be used; ``for_key`` names the dockyard.yml key."""

    def __init__(self, path: str, problem: str, advice: str, key: str = "") -> None:
        where = f" ({key} in dockyard.yml)" if key else ""
        super().__init__(f"{path}{where} {problem}; {advice}.")
        self.path, self.problem, self.advice = path, problem, advice

    def for_key(self, key: str) -> RepositoryFileError:
        return type(self)(self.path, self.problem, self.advice, key)


class LinkOutsideRepository(RepositoryFileError):
    @classmethod
    def to(cls, path: str, target: str) -> LinkOutsideRepository:
        return cls(
            path,
            f"is a symbolic link to {target}, outside the repository",
            "commit the file itself, or a link that stays inside the repository",
        )


class FileTooLarge(RepositoryFileError):
    @classmethod
    def of(cls, path: str, size: int) -> FileTooLarge:
        return cls(
            path,
            f"is {size / 1024 / 1024:.1f} MB at this commit, more than the "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB Dockyard reads from a commit",
            "keep it small (large data belongs in the image or a volume)",
        )


def outside(target: str, resolved: str) -> bool:
    return target.startswith("/") or resolved == ".." or resolved.startswith("../")


def resolve_blob(tree: git.Tree, path: str) -> git.Blob | None:
    """The blob at ``path``, following links (also of folders) that stay inside the tree.

    None when nothing is there; raises LinkOutsideRepository for a link that leaves it.
    """
    current = posixpath.normpath(path)
    for _hop in range(_MAX_HOPS):
        parts = current.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            try:
                entry = tree / prefix
            except KeyError:
                return None
            if entry.type == "blob" and entry.mode == _LINK_MODE:
                target = bytes(entry.data_stream.read()).decode("utf-8", errors="replace")
                joined = posixpath.normpath(
                    posixpath.join(posixpath.dirname(prefix), target, *parts[depth:])
                )
                if outside(target, joined):
                    raise LinkOutsideRepository.to(path, target)
                current = joined
                break
            if depth == len(parts):
                return entry if entry.type == "blob" else None
    raise RepositoryFileError(path, "is a loop of symbolic links", "commit the file itself")


def unsafe_member(error: Exception, name: str, linkname: str) -> RepositoryFileError:
    """What tarfile's ``data`` filter refused while exporting the commit, in one sentence."""
    if linkname:
        return LinkOutsideRepository.to(name, linkname)
    return RepositoryFileError(name, f"cannot be exported safely ({error})", "remove it")


def read_blob(blob: git.Blob, path: str, limit: int = MAX_FILE_BYTES) -> str:
    """The blob's text, refused by its size (known from git) before it is read."""
    if blob.size > limit:
        raise FileTooLarge.of(path, blob.size)
    return bytes(blob.data_stream.read()).decode("utf-8", errors="replace")


def referenced_files(config: PipelineConfig) -> Iterator[tuple[str, str]]:
    """(path, dockyard.yml key) of every file the pipeline and its environments use."""
    build = config.build
    yield posixpath.normpath(posixpath.join(build.context, build.dockerfile)), "build.dockerfile"
    if config.test is not None and config.test.compose:
        yield config.test.compose, "test.compose"
    for env in config.environments:
        if env.env_file:
            yield env.env_file, f"environments.{env.name}.env_file"
        for target, source in env.configs.items():
            yield source, f"environments.{env.name}.configs.{target}"
