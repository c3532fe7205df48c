"""Triggers: new commits on watched branches and new tags start runs.

A local repository's refs are read directly; a remote one is fetched into its cache first
(at the ``trigger.interval`` of its ``dockyard.yml``). What was seen is kept in this
machine's database (``store/machine.py``; an older Dockyard's ``watch/*.json`` is imported
on first use) so a restart does not start runs for refs it already saw; the first look at
a repository only records a baseline. Nothing found is lost while the ledger cannot record
a run (the team server away, a full disk, a locked database): a change found while this
machine's database cannot record it is not taken (``RefChange.taken``), and one whose run
the ledger could not record is put back (``RefWatcher.put_back``); either way a later look
finds it again, and it runs once the ledger is back.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import DockyardError, InfrastructureError
from dockyard.core.locations import default_name, normalise_location
from dockyard.core.pipeline_file import TriggerConfig
from dockyard.core.pipeline_load import load_pipeline
from dockyard.engine.gitsource import GitSource
from dockyard.store.database import Database, machine_database
from dockyard.store.machine import MachineSettings, Refs

log = logging.getLogger("dockyard.git")

# What a ledger that cannot record raises: the team server away, a full disk, a lock.
CANNOT_RECORD = (InfrastructureError, sqlite3.Error, OSError)


@dataclass(frozen=True)
class RefChange:
    repo: str
    ref: str  # the branch or tag name to run
    commit: str
    kind: str  # "branch" | "tag"
    previous: str | None = None  # the commit seen before; None when the ref is new
    taken: bool = True  # False: this machine's database could not record it; not to run


def kept_for_later(change: RefChange, db: Database) -> str:
    """The sentence for a change found while ``db`` cannot record its run."""
    team = db.dialect == "postgres"
    ledger = "the team ledger is unreachable" if team else "the ledger cannot record a run"
    return (
        f"{change.ref} of {default_name(change.repo)} was found while {ledger}; "
        "it will run when the ledger is back."
    )


def not_started(change: RefChange, reason: str) -> str:
    """The sentence for a change whose run failed before it was recorded for another reason
    than the ledger (``reason``, the error's own sentence); a later look tries it again."""
    return f"{change.ref} of {default_name(change.repo)} did not start: {reason}"


class RefWatcher:
    """Remembers one repository's refs and reports what is new since the last look."""

    def __init__(self, location: str, home: Path) -> None:
        self.location = normalise_location(location)
        self.home = home
        key = hashlib.sha1(self.location.encode()).hexdigest()[:16]
        self.old_state_path = home / "watch" / f"{key}.json"  # before the database kept it
        self.trigger = TriggerConfig()
        self.owed: list[RefChange] = []  # taken, not run, and not put back: reported again

    def poll(self) -> list[RefChange]:
        with GitSource(self.location, self.home, fetch=True) as source:
            self.trigger = self._trigger_of(source)
            current = self._matching_refs(source)
        owed, self.owed = self.owed, []
        taken = True
        try:
            previous = self._swap(current)
        except CANNOT_RECORD as exc:  # found, not taken: the next look finds it again
            log.warning("%s: cannot record what was seen: %s", self.location, exc)
            previous, taken = self._peek(), False
        if previous is None:
            return []
        changes = {(c.kind, c.ref): c for c in owed if current.get((c.kind, c.ref)) == c.commit}
        for (kind, name), commit in sorted(current.items()):
            if previous.get((kind, name)) != commit:
                seen = previous.get((kind, name))
                changes[(kind, name)] = RefChange(self.location, name, commit, kind, seen, taken)
                log.info("%s: %s %s is now %s", self.location, kind, name, commit)
        return list(changes.values())

    def _trigger_of(self, source: GitSource) -> TriggerConfig:
        head = source.resolve(None)
        try:
            text = source.read_file(head.commit, "dockyard.yml")
            config = load_pipeline(text)
        except DockyardError as exc:
            log.warning("%s: not watching: %s", self.location, exc)
            return TriggerConfig(branches=(), tags=None)
        trigger = config.trigger
        if not trigger.branches and trigger.tags is None and head.branch:
            # Watching a repository without a trigger block follows its default branch.
            return TriggerConfig(branches=(head.branch,), tags=None, interval=trigger.interval)
        return trigger

    def _matching_refs(self, source: GitSource) -> dict[tuple[str, str], str]:
        refs: dict[tuple[str, str], str] = {}
        for head in source.repo.heads:
            if any(fnmatch.fnmatchcase(head.name, glob) for glob in self.trigger.branches):
                refs[("branch", head.name)] = head.commit.hexsha
        if self.trigger.tags is not None:
            for tag in source.repo.tags:
                if fnmatch.fnmatchcase(tag.name, self.trigger.tags):
                    refs[("tag", tag.name)] = tag.commit.hexsha
        return refs

    def put_back(self, change: RefChange) -> None:
        """Forget having seen ``change`` (its run was not recorded): the next look, of this
        watcher or another on this machine, finds it again. While the database cannot
        record that either, this watcher's next look reports it again."""
        try:
            with machine_database(self.home) as db:
                MachineSettings(db).put_back_watched_ref(
                    self.location, (change.kind, change.ref), change.commit, change.previous
                )
        except CANNOT_RECORD as exc:
            log.warning("%s: %s stays owed: %s", self.location, change.ref, exc)
            self.owed.append(change)

    def _peek(self) -> Refs | None:
        with machine_database(self.home) as db:
            return MachineSettings(db).watched_refs(self.location)

    def _swap(self, refs: Refs) -> Refs | None:
        with machine_database(self.home) as db:
            settings = MachineSettings(db)
            self._import_old_state(settings)
            return settings.swap_watched_refs(self.location, refs)

    def _import_old_state(self, settings: MachineSettings) -> None:
        try:
            raw = json.loads(self.old_state_path.read_text())
            refs = {(str(kind), str(name)): str(commit) for kind, name, commit in raw}
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError) as exc:
            log.warning("%s: ignoring %s (%s)", self.location, self.old_state_path, exc)
            refs = None
        if refs is not None:
            settings.put_watched_refs(self.location, refs, replace=False)
        self.old_state_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the folder goes with its last file
            self.old_state_path.parent.rmdir()
