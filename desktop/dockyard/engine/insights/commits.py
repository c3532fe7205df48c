"""The commit graph lead time walks, read from git in one ``git log`` and cached.

Commits never change, so a graph read for a set of deployed commits stays true: the
window switching period or environment asks again and gets the cached graph; a new
deployment adds a tip and reads once more. Commits that are ancestors of the
environment's first deployment are left out by git itself (``--not``): lead time never
counts them, and a long history is not read at all.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from dockyard.core.errors import InfrastructureError
from dockyard.engine.gitsource import GitSource
from dockyard.engine.insights.metrics import CommitGraph, CommitInfo

log = logging.getLogger("dockyard.git")

CACHED_GRAPHS = 16
GIT_TIMEOUT = 60.0
_cache: OrderedDict[tuple[str, frozenset[str], frozenset[str]], CommitGraph] = OrderedDict()
_lock = threading.Lock()


def commit_graph(
    home: Path, repo: str, tips: Iterable[str], boundary: Iterable[str]
) -> CommitGraph:
    """Commits reachable from ``tips`` but not from ``boundary``, with author time and
    parents. Raises InfrastructureError when the repository cannot be read."""
    key = (repo, frozenset(t for t in tips if t), frozenset(b for b in boundary if b))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    graph = _read_graph(home, repo, key[1], key[2])
    with _lock:
        _cache[key] = graph
        while len(_cache) > CACHED_GRAPHS:
            _cache.popitem(last=False)
    return graph


def _read_graph(
    home: Path, repo: str, tips: frozenset[str], boundary: frozenset[str]
) -> CommitGraph:
    if not tips:
        return {}
    try:
        with GitSource(repo, home, fetch=False) as source:
            git_dir = str(source.repo.git_dir)
    except Exception as exc:  # any failure to open means "git unreadable here"
        raise InfrastructureError(
            f"Could not open the git repository {repo} ({exc}); lead time needs its commits."
        ) from exc
    known = _existing(git_dir, tips | boundary)
    wanted = sorted(tips & known)
    if not wanted:
        return {}
    arguments = [*wanted, *(f"^{sha}" for sha in sorted(boundary & known))]
    output = _git(git_dir, ["log", "--format=%H %at %P", "--stdin"], "\n".join(arguments))
    graph: dict[str, CommitInfo] = {}
    for line in output.splitlines():
        sha, at, *parents = line.split()
        graph[sha] = CommitInfo(datetime.fromtimestamp(int(at), UTC), tuple(parents))
    return graph


def _existing(git_dir: str, shas: frozenset[str]) -> frozenset[str]:
    """The commits git has (a mirror may lack a commit that was deployed from elsewhere)."""
    output = _git(git_dir, ["cat-file", "--batch-check"], "\n".join(sorted(shas)))
    return frozenset(
        parts[0] for parts in map(str.split, output.splitlines()) if parts[1:2] == ["commit"]
    )


def _git(git_dir: str, arguments: list[str], stdin: str) -> str:
    try:
        done = subprocess.run(
            ["git", "--git-dir", git_dir, *arguments],
            input=stdin + "\n",
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise InfrastructureError(
            f"Could not read the commits of {git_dir} ({detail.strip()}); lead time needs them."
        ) from exc
    return done.stdout
