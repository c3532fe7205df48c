"""``dockyard watch``: start runs when watched branches get commits or new tags appear."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from dockyard.cli.context import database, repo_key
from dockyard.core.errors import DockyardError, UserInputError
from dockyard.engine.home import dockyard_home
from dockyard.engine.pipeline.triggers import RefWatcher, kept_for_later, not_started
from dockyard.engine.pipeline.watched import run_change
from dockyard.store.repositories import RepositoryStore


def register(commands: Any) -> None:
    watch = commands.add_parser(
        "watch", help="run pipelines when watched branches get commits or new tags appear"
    )
    watch.add_argument("repos", nargs="*", help="default: the repositories marked 'watch'")
    watch.add_argument("--once", action="store_true", help="look once, run what is new, exit")
    watch.set_defaults(handler=watch_repositories)


def watch_repositories(args: argparse.Namespace) -> int:
    home, db = dockyard_home(), database()
    if args.repos:
        locations = [repo_key(repo, db) for repo in args.repos]
    else:
        locations = [r.location for r in RepositoryStore(db).list() if r.watch]
    if not locations:
        raise UserInputError(
            "No repository to watch; name one (dockyard watch REPO) or turn watching on in "
            "the window."
        )
    watchers = [RefWatcher(location, home) for location in locations]
    stop = threading.Event()
    next_look = dict.fromkeys(locations, 0.0)
    failed = kept = False
    waiting: set[tuple[str, str, str]] = set()  # said to wait for the ledger: said once
    unstarted: dict[tuple[str, str, str], str] = {}  # what stopped it, said once
    while not stop.is_set():
        for watcher in watchers:
            if time.monotonic() < next_look[watcher.location]:
                continue
            try:
                changes = watcher.poll()
            except DockyardError as exc:
                print(f"dockyard: {watcher.location}: {exc.message}", file=sys.stderr)
                changes = []
            next_look[watcher.location] = time.monotonic() + watcher.trigger.interval
            for change in changes:
                said = (change.repo, change.ref, change.commit)
                if said not in waiting:
                    print(f"{change.repo}: new {change.kind} {change.ref} at {change.commit[:12]}")
                outcome = None
                try:
                    if change.taken:
                        outcome = run_change(watcher, change, home=home, db=db)
                except DockyardError as exc:  # put back: tried again at the next look
                    if unstarted.get(said) != exc.message:
                        print(f"dockyard: {not_started(change, exc.message)}", file=sys.stderr)
                    unstarted[said] = exc.message
                    waiting.add(said)
                    kept = True
                    continue
                if outcome is None:  # found again at a later look
                    if said not in waiting:
                        print(f"dockyard: {kept_for_later(change, db)}", file=sys.stderr)
                    waiting.add(said)
                    kept = True
                    continue
                waiting.discard(said)
                unstarted.pop(said, None)
                print(f"  run {outcome.run.id}: {outcome.run.status}")
                failed = failed or outcome.run.status == "failed"
        if args.once:
            break
        stop.wait(1.0)
    return 1 if failed else 3 if kept else 0
