"""What a commit's dockyard.yml said, kept under ``DOCKYARD_HOME/cache/pipelines``.

A commit's files never change, so its pipeline file is read through GitPython once;
later readers (``dockyard status``, the window's environments) parse the kept text
instead of importing GitPython (~0.1 s). Kept: the file's text and the answers to
the parser's "does this file exist in the commit?" questions (which default compose file
it has). The text is used only while ``git rev-parse`` names it as the commit's
dockyard.yml (a few milliseconds): the approval rules in it decide releases, so an edited
cache file, or a repository git cannot read any more, means reading git as before. The
text is parsed again each time, so a newer Dockyard reads it with its own rules. A cache
file that cannot be read or written is only a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.engine.gitsource import blob_id, git_folder

FOLDER = Path("cache") / "pipelines"
PIPELINE_FILE = "dockyard.yml"


class NotCached(Exception):
    """The parser asked about a file the kept answers do not cover."""


@dataclass
class CommitPipeline:
    text: str | None  # None: the commit has no dockyard.yml (never kept)
    exists: dict[str, bool] = field(default_factory=dict)

    def answer(self, path: str) -> bool:
        if path not in self.exists:
            raise NotCached(path)
        return self.exists[path]


def _path(home: Path, repo: str, commit: str) -> Path:
    key = hashlib.sha256(f"{repo}\n{commit}".encode()).hexdigest()[:32]
    return home / FOLDER / f"{key}.json"


def kept(home: Path, repo: str, commit: str) -> CommitPipeline | None:
    """The kept dockyard.yml of ``commit``, if git says it is the commit's file."""
    try:
        data = json.loads(_path(home, repo, commit).read_text(encoding="utf-8"))
        text, exists = data["text"], data["exists"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(text, str) or not isinstance(exists, dict):
        return None
    if blob_id(git_folder(repo, home), commit, PIPELINE_FILE) != _blob_id_of(text):
        return None
    return CommitPipeline(text, {str(path): bool(found) for path, found in exists.items()})


def _blob_id_of(text: str) -> str:
    """git's object id of a file holding ``text`` (git's SHA-1 objects)."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def keep(home: Path, repo: str, commit: str, pipeline: CommitPipeline) -> None:
    if pipeline.text is None:
        return  # "no file" cannot be checked against git as cheaply: read git next time
    path = _path(home, repo, commit)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return  # a read-only or full disk: the next reader asks git again
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump({"text": pipeline.text, "exists": pipeline.exists}, file)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
