"""This machine's settings in the local database: what older Dockyards kept in files is
moved in on first use, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.engine.endpoints.registry_auth import dockyard_logins
from dockyard.store.database import machine_database
from dockyard.store.machine import MachineSettings


def test_an_older_registry_logins_json_is_moved_in(dockyard_home: Path) -> None:
    (dockyard_home / "registry-logins.json").write_text(json.dumps({"localhost:5000": "ci"}))
    with machine_database(dockyard_home) as db:  # a login made since, by this version
        MachineSettings(db).put_registry_logins({"registry.example.test": "ann"})
    assert dockyard_logins() == {"localhost:5000": "ci", "registry.example.test": "ann"}
    assert not (dockyard_home / "registry-logins.json").exists()
    assert (dockyard_home / "registry-logins.json.imported").exists()
    assert dockyard_logins() == {"localhost:5000": "ci", "registry.example.test": "ann"}


def test_an_import_never_overwrites_what_the_database_holds(dockyard_home: Path) -> None:
    with machine_database(dockyard_home) as db:
        settings = MachineSettings(db)
        settings.put_registry_logins({"localhost:5000": "new-user"})
        settings.put_registry_logins({"localhost:5000": "old-user"}, replace=False)
        settings.put_watched_refs("/src/app", {("branch", "main"): "a" * 40})
        settings.put_watched_refs("/src/app", {("branch", "main"): "b" * 40}, replace=False)
        assert settings.registry_logins() == {"localhost:5000": "new-user"}
        assert settings.watched_refs("/src/app") == {("branch", "main"): "a" * 40}
        assert settings.watched_refs("/src/other") is None


def test_a_ref_put_back_is_new_again_unless_a_later_look_saw_it_move_on(
    dockyard_home: Path,
) -> None:
    main, tag = ("branch", "main"), ("tag", "v1.4.0")
    with machine_database(dockyard_home) as db:
        settings = MachineSettings(db)
        assert settings.swap_watched_refs("/src/shop", {main: "a" * 40}) is None
        seen = {main: "b" * 40, tag: "c" * 40}
        assert settings.swap_watched_refs("/src/shop", seen) == {main: "a" * 40}
        # Neither run could be recorded: both are put back as they were before.
        settings.put_back_watched_ref("/src/shop", main, "b" * 40, "a" * 40)
        settings.put_back_watched_ref("/src/shop", tag, "c" * 40, None)
        assert settings.watched_refs("/src/shop") == {main: "a" * 40}
        # A later look took main at d…: putting back its older commit changes nothing.
        settings.swap_watched_refs("/src/shop", {main: "d" * 40})
        settings.put_back_watched_ref("/src/shop", main, "b" * 40, "a" * 40)
        assert settings.watched_refs("/src/shop") == {main: "d" * 40}
