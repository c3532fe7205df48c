"""``dockyard run``, ``runs`` and ``logs``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from types import FrameType
from typing import Any

from dockyard.cli.context import database, print_waiting, repo_key
from dockyard.core.ansi import strip_ansi
from dockyard.core.errors import UserInputError
from dockyard.core.model import RunStatus
from dockyard.engine.events import CancelToken, Event, RunChanged, StageChanged
from dockyard.engine.home import dockyard_home
from dockyard.engine.ledger_source import acting_identity
from dockyard.store.database import Database
from dockyard.store.logs import StageLogReader, stage_log_path
from dockyard.store.repositories import RepositoryStore
from dockyard.store.runs import RunStore
from dockyard.store.shared_logs import fetch_log


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="run a repository's pipeline and wait for it")
    run.add_argument("repo", help="a path or a git URL")
    run.add_argument("--ref", default=None, help="branch, tag or commit (default: HEAD)")
    run.add_argument("--json", action="store_true", help="print the run as JSON")
    run.add_argument(
        "--no-wait",
        action="store_true",
        help="fail a deployment (exit 2) instead of waiting while another one to its "
        "environment runs",
    )
    run.set_defaults(handler=run_pipeline)
    runs = commands.add_parser("runs", help="list the runs of a repository")
    runs.add_argument("repo")
    runs.add_argument("--limit", type=int, default=50)
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(handler=list_runs)
    logs = commands.add_parser("logs", help="print a run's log")
    logs.add_argument("run_id")
    logs.add_argument("--stage", default=None, help="one stage: checkout, build, test, deliver")
    logs.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="keep the log's colours (ANSI escapes): auto = only on a terminal",
    )
    logs.set_defaults(handler=print_logs)


class _Progress:
    """Stage changes on stderr, so stdout stays clean for --json; the repository joins the
    window's list once its commit is checked out (every repository with runs is listed)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.listed = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunChanged) and event.run.commit and not self.listed:
            self.listed = True
            RepositoryStore(self.db).add(event.run.repo)  # a no-op when already listed
        if isinstance(event, StageChanged):
            stage = event.stage
            if stage.status in ("running", "succeeded", "failed", "cancelled"):
                extra = f" ({stage.duration:.1f}s)" if stage.finished and stage.duration else ""
                print(f"  {stage.name}: {stage.status}{extra}", file=sys.stderr, flush=True)


def run_pipeline(args: argparse.Namespace) -> int:
    from dockyard.engine.pipeline.tools import probe_tools

    probe_tools()  # other processes: they run while this one imports the engine
    from dockyard.engine.pipeline.start import start_pipeline  # docker and git: only for a run

    cancel = CancelToken()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        print("dockyard: cancelling the run…", file=sys.stderr, flush=True)
        cancel.cancel()

    previous = signal.signal(signal.SIGINT, on_signal)
    previous_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        db = database()
        outcome = start_pipeline(
            home=dockyard_home(),
            db=db,
            location=repo_key(args.repo, db),
            ref=args.ref,
            started_by=acting_identity(db),
            sink=_Progress(db),
            cancel=cancel,
            wait=not args.no_wait,
            on_wait=print_waiting,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
    run = outcome.run
    if args.json:
        print(json.dumps(run.to_json(outcome.deployments), indent=2))
    else:
        print(f"Run {run.id}: {run.status} ({run.ref} at {run.commit[:12] or '?'})")
        if run.digest:
            print(f"Image: {run.image_name + '@' if run.image_name else ''}{run.digest}")
        for deployment in outcome.deployments:
            print(f"  {deployment.environment}: {deployment.status}")
    for warning in run.warnings:
        print(f"dockyard: warning: {warning}", file=sys.stderr)
    if run.status in (RunStatus.SUCCEEDED, RunStatus.AWAITING_APPROVAL, RunStatus.SUPERSEDED):
        return 0  # superseded: it reached the gate, where a newer request replaced its own
    error = outcome.error
    message = error.message if error else (run.error or f"The run {run.status}.")
    print(f"dockyard: {message}", file=sys.stderr)
    return error.exit_code if error else 1


def list_runs(args: argparse.Namespace) -> int:
    db = database()
    store = RunStore(db)
    # Runs whose process died (a crash, a kill) show as interrupted, never as running
    # (once the disk has room to record it, when it is full).
    if not db.read_only:
        store.interrupt_orphaned()
    runs = store.list(repo_key(args.repo, db), limit=args.limit)
    if args.json:
        print(json.dumps([run.to_json() for run in runs], indent=2))
        return 0
    for run in runs:
        stages = " ".join(f"{s.name}:{s.status}" for s in run.stages)
        print(f"{run.id}  {run.status:<17} {run.ref:<16} {run.commit[:12]:<12}  {stages}")
    return 0


def print_logs(args: argparse.Namespace) -> int:
    db = database()
    run = RunStore(db).get(args.run_id)
    if run is None:
        raise UserInputError(f"There is no run {args.run_id!r}; list runs with: dockyard runs REPO")
    names = [s.name for s in run.stages]
    if args.stage is not None and args.stage not in names:
        raise UserInputError(f"Unknown stage {args.stage!r}; stages are: {', '.join(names)}.")
    home = dockyard_home()
    colour = _wants_colour(args.color)
    for name in [args.stage] if args.stage else names:
        path = stage_log_path(home, run.id, name)
        if not fetch_log(db, path, run.id, name):  # a team member's run: from the ledger
            continue
        if not args.stage:
            print(f"==> {name} <==")
        reader = StageLogReader(path)
        reader.refresh()
        for line in reader.iter_lines():
            print(line if colour else strip_ansi(line))
    return 0


def _wants_colour(choice: str) -> bool:
    """``--color``: auto keeps colours on a terminal, never in a file or a pipe."""
    return choice == "always" or (choice == "auto" and sys.stdout.isatty())
