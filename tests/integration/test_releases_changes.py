"""What a release changes over what runs: forward (the commits it brings in) or back (the
commits a rollback takes away), with the configuration diff. Real git, no daemon."""

from __future__ import annotations

from pathlib import Path

from dockyard.core.locations import normalise_location
from dockyard.core.releases import Deployment
from dockyard.engine.release.service import ReleaseService
from dockyard.store.database import open_database
from testbed.gitrepos import make_app_repo


def record(service: ReleaseService, repo: str, commit: str, tag: str, level: str) -> Deployment:
    started = service.ledger.start_deployment(
        repo=repo, environment="production", digest="sha256:" + commit[:64].ljust(64, "0"),
        image=f"shop/web@sha256:{commit}", commit=commit, tag=tag, run_id=None,
        config={"mode": "container", "env": {"LOG_LEVEL": level}}, deployed_by="dev",
    )  # fmt: skip
    return service.ledger.finish_deployment(started.id, "deployed")


def test_changes_forward_and_back(tmp_path: Path, dockyard_home: Path) -> None:
    git_repo = make_app_repo(tmp_path / "web")
    v1 = git_repo.head
    fix = git_repo.commit("Fix the checkout page", {"app.sh": "echo fixed\n"})
    v2 = git_repo.commit("Add the wish list", {"wish.txt": "wish\n"})
    repo = normalise_location(str(git_repo.path))
    db = open_database(dockyard_home)
    try:
        service = ReleaseService(home=dockyard_home, db=db, identity="dev")
        old = record(service, repo, v1, "v1.0.0", "info")
        new = record(service, repo, v2, "v1.1.0", "debug")

        back = service.changes_between(repo, "production", old)
        assert back.direction == "back" and back.git_error is None
        assert [c.commit for c in back.commits] == [v2, fix]  # what the rollback takes away
        assert back.config_diff == ["~ env LOG_LEVEL=debug -> info"]

        record(service, repo, v1, "v1.0.0", "info")  # now v1 runs again
        forward = service.changes_between(repo, "production", new)
        assert forward.direction == "forward"
        assert [c.commit for c in forward.commits] == [v2, fix]
        assert forward.config_diff == ["~ env LOG_LEVEL=info -> debug"]

        # Where nothing runs yet, a release brings every commit up to it: a first release.
        first = service.changes_between(repo, "staging", new)
        assert first.direction == "first"
        assert [c.commit for c in first.commits] == [v2, fix, v1]
    finally:
        db.close()
