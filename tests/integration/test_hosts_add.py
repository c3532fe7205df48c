"""``dockyard hosts add``: names are checked, an endpoint is never replaced silently, TLS
needs its files, and the new endpoint is tested at once (a warning, not a refusal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.cli import run_dockyard as dockyard
from testbed.dockerd import PrivateDaemon
from testbed.endpoints import saved_endpoints as saved


def assert_refused(result: object, sentence: str) -> None:
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    assert sentence in result.stderr and "Traceback" not in result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["bad name;x", ".hidden", "a/b", "ünïcode", "x" * 64])
def test_a_name_that_is_not_a_plain_word_is_refused(dockyard_home: Path, name: str) -> None:
    result = dockyard(dockyard_home, "hosts", "add", name, "ssh://ops@127.0.0.1:1")
    assert_refused(result, "cannot name a Docker endpoint")
    assert saved(dockyard_home) == {}


def test_an_endpoint_is_replaced_only_with_replace_and_tested_on_add(
    dockyard_home: Path,
) -> None:
    added = dockyard(dockyard_home, "hosts", "add", "prod", "ssh://ops@127.0.0.1:1")
    assert added.returncode == 0, added.stderr
    assert "Added Docker endpoint prod" in added.stdout
    # Nothing listens on port 1: saved anyway, with a one-line warning.
    assert added.stderr.startswith("dockyard: warning: ") and "unreachable" in added.stderr
    assert added.stderr.count("\n") == 1

    again = dockyard(dockyard_home, "hosts", "add", "prod", "ssh://ops@127.0.0.2:1")
    assert_refused(again, "A Docker endpoint named 'prod' already exists (ssh://ops@127.0.0.1:1)")
    assert saved(dockyard_home)["prod"]["url"] == "ssh://ops@127.0.0.1:1"

    replaced = dockyard(dockyard_home, "hosts", "add", "prod", "ssh://ops@127.0.0.2:1", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert saved(dockyard_home)["prod"]["url"] == "ssh://ops@127.0.0.2:1"


def test_tls_urls_need_their_certificate_files(dockyard_home: Path, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    missing = tmp_path / "key.pem"
    add = ("hosts", "add", "tls", "tcp://build.example:2376")
    for files, sentence in (
        ((), "Refusing plain tcp://"),
        (("--tls-ca", str(ca)), "Refusing plain tcp://"),
        (("--tls-ca", str(ca), "--tls-cert", str(ca)), "certificate and its key together"),
        (
            ("--tls-ca", str(ca), "--tls-cert", str(ca), "--tls-key", str(missing)),
            f"The TLS key file {missing} does not exist",
        ),
    ):
        assert_refused(dockyard(dockyard_home, *add, *files), sentence)
    assert saved(dockyard_home) == {}


@pytest.mark.docker
def test_adding_a_live_daemon_says_what_answered(
    dockyard_home: Path, docker_daemon: PrivateDaemon
) -> None:
    result = dockyard(dockyard_home, "hosts", "add", "test-bed", docker_daemon.url)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "test-bed: Docker " in result.stdout


def test_a_home_with_an_older_hosts_json_keeps_its_endpoints(dockyard_home: Path) -> None:
    (dockyard_home / "hosts.json").write_text(
        '{"prod": {"url": "ssh://ops@127.0.0.1:1"}, "build": {"url": "tcp://127.0.0.1:2375"}}'
    )
    listed = dockyard(dockyard_home, "hosts", "list")
    assert listed.returncode == 0, listed.stderr
    assert "prod\tssh://ops@127.0.0.1:1" in listed.stdout
    assert "build\ttcp://127.0.0.1:2375" in listed.stdout
    assert set(saved(dockyard_home)) == {"prod", "build"}
    removed = dockyard(dockyard_home, "hosts", "remove", "build")
    assert removed.returncode == 0, removed.stderr
    assert "build" not in dockyard(dockyard_home, "hosts", "list").stdout
