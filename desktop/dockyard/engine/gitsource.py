"""Git access: resolve a ref to a commit, read files of that commit, export its tree.

A local path is used in place; a URL is mirrored into a cache under ``DOCKYARD_HOME`` and
fetched on every run. The build context always comes from the commit, never from
uncommitted files in a working tree.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.core.locations import is_url, normalise_location
from dockyard.engine.commitfiles import (
    MAX_FILE_BYTES,
    FileTooLarge,
    RepositoryFileError,
    read_blob,
    resolve_blob,
    unsafe_member,
)

if TYPE_CHECKING:
    import git

log = logging.getLogger("dockyard.git")
# GitPython is imported where a repository is opened, not with this module: it takes
# ~0.1 s, which commands that only read the records (status) need not pay.


@dataclass(frozen=True)
class ResolvedRef:
    ref: str
    commit: str
    tag: str | None
    branch: str | None
    author: str
    message: str


class GitSource:
    """One repository, opened for reading commits; close it (or use ``with``) when done.

    Reading starts git helper processes (GitPython's ``cat-file``). A ``git.Repo`` sits in a
    reference cycle, so left alone it is freed by the cycle collector, which may finalise a
    helper's Popen before the repository ends it: "subprocess N is still running".
    """

    def __init__(self, location: str, home: Path, *, fetch: bool = True) -> None:
        self.location = normalise_location(location)
        self.fetch_warning = ""
        if is_url(self.location):
            self.repo = self._mirror(home, fetch)
        else:
            self.repo = self._open_local(Path(self.location))

    def __enter__(self) -> GitSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ends git's helper processes now (reading again would start new ones)."""
        self.repo.close()

    @staticmethod
    def _open_local(path: Path) -> git.Repo:
        import git

        if not path.exists():
            raise UserInputError(f"{path} does not exist; give the path of a git repository.")
        try:
            return git.Repo(path)
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError) as exc:
            raise UserInputError(
                f"{path} is not a git repository; run 'git init' there or pick another folder."
            ) from exc

    def _mirror(self, home: Path, fetch: bool) -> git.Repo:
        import git

        cache = git_folder(self.location, home)
        if not cache.exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix="clone-", dir=cache.parent))
            try:
                git.Repo.clone_from(self.location, tmp, mirror=True)
            except git.exc.GitCommandError as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise InfrastructureError(
                    f"Could not clone {self.location}: {_git_reason(exc)}; check the URL and "
                    "that the git server is reachable.",
                    details=str(exc),
                ) from exc
            tmp.rename(cache)
            return git.Repo(cache)
        repo = git.Repo(cache)
        if fetch:
            try:
                repo.git.fetch("origin", "--prune", "--tags", "--force")
                repo.git.fetch("origin", "+refs/heads/*:refs/heads/*", "--prune", "--force")
            except git.exc.GitCommandError as exc:
                # Releases already fetched stay usable while the git server is down.
                self.fetch_warning = (
                    f"Could not fetch {self.location} ({_git_reason(exc)}); "
                    "using the commits fetched before."
                )
                log.warning("%s", self.fetch_warning)
        return repo

    def resolve(self, ref: str | None) -> ResolvedRef:
        import git
        import gitdb.exc

        name = ref or "HEAD"
        try:
            commit = self.repo.commit(name)
        except (gitdb.exc.BadName, gitdb.exc.BadObject, ValueError, git.exc.GitCommandError):
            tags = ", ".join(latest_tags([t.name for t in self.repo.tags])) or "none"
            raise UserInputError(
                f"Unknown ref {name!r} in {self.location}; give a branch, tag or commit "
                f"(latest tags: {tags})."
            ) from None
        tag = name if name in self.repo.tags else self._tag_at(commit.hexsha)
        branch = name if name in self.repo.heads else None
        if branch is None and name == "HEAD" and not self.repo.head.is_detached:
            branch = self.repo.head.reference.name
        return ResolvedRef(
            ref=name,
            commit=commit.hexsha,
            tag=tag,
            branch=branch,
            author=f"{commit.author.name} <{commit.author.email}>",
            message=str(commit.message).strip().splitlines()[0] if commit.message else "",
        )

    def _tag_at(self, sha: str) -> str | None:
        tags = self.repo.git.tag("--points-at", sha, "--sort=-creatordate").split()
        return tags[0] if tags else None

    def read_file(self, commit: str, path: str) -> str | None:
        """The text of ``path`` at ``commit``, None when it is missing; links are followed
        inside the repository only and files over 1 MB refused (see commitfiles)."""
        blob = resolve_blob(self.repo.commit(commit).tree, path)
        return None if blob is None else read_blob(blob, path)

    def check_file(self, commit: str, path: str, key: str) -> None:
        """Refuse (naming ``key`` of dockyard.yml) a link out of the repository or a file
        too large to read; a missing file is for the caller to judge."""
        try:
            blob = resolve_blob(self.repo.commit(commit).tree, path)
            if blob is not None and blob.size > MAX_FILE_BYTES:
                raise FileTooLarge.of(path, blob.size)
        except RepositoryFileError as exc:
            raise exc.for_key(key) from None

    def exists(self, commit: str, path: str) -> bool:
        try:
            self.repo.commit(commit).tree / path
        except KeyError:
            return False
        return True

    def export(self, commit: str, destination: Path) -> None:
        """Write the tree of ``commit`` into ``destination`` (created; must not exist)."""
        destination.mkdir(parents=True)
        with tempfile.TemporaryFile() as archive:
            self.repo.archive(archive, treeish=commit, format="tar")
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                try:
                    tar.extractall(destination, filter="data")
                except tarfile.FilterError as exc:
                    member = exc.tarinfo
                    raise unsafe_member(exc, member.name, member.linkname) from exc

    def commits_between(self, old: str | None, new: str, limit: int = 200) -> list[ResolvedRef]:
        """Commits in ``new`` that are not in ``old`` (newest first)."""
        import git

        rev = f"{old}..{new}" if old else new
        try:
            commits = list(self.repo.iter_commits(rev, max_count=limit))
        except git.exc.GitCommandError:
            return []
        return [
            ResolvedRef(
                ref=c.hexsha,
                commit=c.hexsha,
                tag=None,
                branch=None,
                author=f"{c.author.name} <{c.author.email}>",
                message=str(c.message).strip().splitlines()[0] if c.message else "",
            )
            for c in commits
        ]


def git_folder(location: str, home: Path) -> Path:
    """Where git keeps ``location``: the folder itself, or the mirror of a URL."""
    location = normalise_location(location)
    if not is_url(location):
        return Path(location)
    return home / "git-cache" / hashlib.sha1(location.encode()).hexdigest()[:16]


def blob_id(folder: Path, commit: str, path: str) -> str | None:
    """git's id of the file ``path`` at ``commit`` (``git rev-parse``, no GitPython),
    None when git does not name one (no such file, commit or repository)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--verify", "--quiet", f"{commit}:{path}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    return done.stdout.strip()


def _git_reason(exc: git.exc.GitCommandError) -> str:
    text = str(exc.stderr or exc).strip().strip("'").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("fatal:"):
            return line.removeprefix("fatal:").strip()
    return lines[-1] if lines else "git failed"


def latest_tags(names: list[str], count: int = 5) -> list[str]:
    """The highest ``count`` tags by version, highest first: v3.11.1 before v3.9.0."""
    return sorted(names, key=_version_key, reverse=True)[:count]


def _version_key(
    name: str,
) -> tuple[list[tuple[int, int | str]], bool, list[tuple[int, int | str]]]:
    # Numbers compare as numbers ("v10" > "v9"); a pre-release ("-rc1") comes before its release.
    release, dash, pre = name.partition("-")
    return _parts(release), not dash, _parts(pre)


def _parts(text: str) -> list[tuple[int, int | str]]:
    return [(1, int(part)) if part.isdigit() else (0, part) for part in re.split(r"(\d+)", text)]
