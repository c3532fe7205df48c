"""Secret fingerprints: keyed (v2), old unkeyed ones still compare, not-set is visible."""

from __future__ import annotations

import hashlib

from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.engine.deploy import ConfigSnapshot, diff_snapshots
from dockyard.engine.secrets import NOT_SET, Fingerprints, legacy_fingerprint

KEY = b"k" * 32


def test_a_v2_fingerprint_is_keyed_so_it_cannot_be_guessed_without_the_key() -> None:
    mark = Fingerprints(KEY).mark("hunter2")
    assert mark.startswith("v2:") and len(mark) == 3 + 32
    assert mark == Fingerprints(KEY).mark("hunter2")
    assert mark != Fingerprints(b"another key").mark("hunter2")
    unkeyed = hashlib.sha256(b"dockyard-secret:hunter2").hexdigest()
    assert mark[3:] not in unkeyed and "hunter2" not in mark


def test_old_and_new_fingerprints_both_compare_with_the_value() -> None:
    marks = Fingerprints(KEY)
    old = legacy_fingerprint("hunter2")
    assert old == hashlib.sha256(b"dockyard-secret:hunter2").hexdigest()[:16]
    assert marks.matches(old, "hunter2") and not marks.matches(old, "hunter3")
    assert marks.matches(marks.mark("hunter2"), "hunter2")
    assert not marks.matches(marks.mark("hunter2"), "hunter3")
    assert not marks.matches(NOT_SET, "hunter2")


def test_the_key_is_read_only_when_a_value_is_marked() -> None:
    def no_keyring() -> bytes:
        raise AssertionError("the key was read")

    assert Fingerprints(no_keyring).marks({"api_token": None}) == {"api_token": NOT_SET}


def test_a_diff_says_when_a_secret_is_not_set_or_only_its_format_changed() -> None:
    env = EnvironmentConfig(name="production")
    base = ConfigSnapshot("service", 1, 5.0, {}, None, {}, {"api_token": NOT_SET})
    set_now = ConfigSnapshot("service", 1, 5.0, {}, None, {}, {"api_token": "v2:" + "a" * 32})
    old = ConfigSnapshot("service", 1, 5.0, {}, None, {}, {"api_token": "b" * 16})
    assert env.name == "production"
    assert diff_snapshots(None, base) == ["! secret api_token: not set"]
    assert diff_snapshots(base, set_now) == ["~ secret api_token set (it was not set)"]
    assert diff_snapshots(old, set_now) == [
        "~ secret api_token: fingerprint format changed (cannot tell whether its value did)"
    ]
