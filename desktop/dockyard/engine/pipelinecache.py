"""What a commit's dockyard.yml said, kept under ``DOCKYARD_HOME/cache/pipelines``.

A commit's files never change, so its pipeline file is read through git once; later
readers (``dockyard status``, the window's environments) parse the kept text without
opening git, whose Python library alone takes ~0.1 s to import. Kept: the file's text
(None when the commit has none) and the answers to the parser's "does this file exist in
the commit?" questions. The text is parsed again each time, so a newer Dockyard reads it
with its own rules. A cache file that cannot be read or written is only a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FOLDER = Path("cache") / "pipelines"


class NotCached(Exception):
    """The parser asked about a file the kept answers do not cover."""


@dataclass
class CommitPipeline:
    text: str | None
    exists: dict[str, bool] = field(default_factory=dict)

    def answer(self, path: str) -> bool:
        if path not in self.exists:
            raise NotCached(path)
        return self.exists[path]


def _path(home: Path, repo: str, commit: str) -> Path:
    key = hashlib.sha256(f"{repo}\n{commit}".encode()).hexdigest()[:32]
    return home / FOLDER / f"{key}.json"


def kept(home: Path, repo: str, commit: str) -> CommitPipeline | None:
    try:
        data = json.loads(_path(home, repo, commit).read_text(encoding="utf-8"))
        text, exists = data["text"], data["exists"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (text is None or isinstance(text, str)) or not isinstance(exists, dict):
        return None
    return CommitPipeline(text, {str(path): bool(found) for path, found in exists.items()})


def keep(home: Path, repo: str, commit: str, pipeline: CommitPipeline) -> None:
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
