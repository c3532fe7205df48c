"""The configuration snapshot: built from the commit, recorded, diffed; never a secret value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

import pytest

from dockyard.core.errors import UserInputError
from dockyard.core.pipeline_file import EnvironmentConfig, HealthcheckConfig
from dockyard.core.releases import DeployTarget
from dockyard.engine.deploy import ConfigSnapshot, build_snapshot, diff_snapshots, resource_name
from dockyard.engine.deploy.dockerops import container_ports, parse_port, service_ports
from dockyard.engine.deploy.labels import parse_time
from dockyard.engine.secrets import Fingerprints

ENV = EnvironmentConfig(
    name="staging",
    env_file="deploy/staging.env",
    environment={"LOG_LEVEL": "debug"},
    configs={"/etc/app/app.cfg": "deploy/app.cfg"},
    secrets=("db_password",),
    ports=("8080:80",),
    volumes=("data:/var/lib/app",),
    healthcheck=HealthcheckConfig(test=("CMD-SHELL", "wget -q -O- http://localhost/"), retries=2),
    grace=2,
)
ENV_FILE = """\
# database
export DB_HOST=db.internal
DB_NAME="shop"
GREETING='hello world'
LOG_LEVEL=info

EMPTY=
"""
FINGERPRINTS = Fingerprints(b"k" * 32)
FILES = {"deploy/staging.env": ENV_FILE, "deploy/app.cfg": "[app]\ncolour = blue\n"}


def snapshot(
    env: EnvironmentConfig = ENV,
    files: Mapping[str, str] = FILES,
    secrets: Mapping[str, str] | None = None,
) -> ConfigSnapshot:
    values = secrets or {"db_password": "hunter2"}
    return build_snapshot(env, dict(files).get, FINGERPRINTS.marks(values))


def test_env_file_and_inline_values_merge_with_inline_winning() -> None:
    assert snapshot().env == {
        "DB_HOST": "db.internal",
        "DB_NAME": "shop",
        "GREETING": "hello world",
        "LOG_LEVEL": "debug",
        "EMPTY": "",
    }


def test_configs_are_read_from_the_commit_with_their_hash() -> None:
    config = snapshot().configs["/etc/app/app.cfg"]
    assert (config.source, config.content) == ("deploy/app.cfg", "[app]\ncolour = blue\n")
    assert len(config.sha256) == 64


def test_secrets_are_recorded_as_fingerprints_never_values() -> None:
    recorded = snapshot()
    assert recorded.secrets == {"db_password": FINGERPRINTS.mark("hunter2")}
    assert "hunter2" not in json.dumps(recorded.to_json())


@pytest.mark.parametrize(
    ("missing", "named"),
    [("deploy/staging.env", "env_file"), ("deploy/app.cfg", "config /etc/app/app.cfg")],
)
def test_a_missing_file_names_the_file_and_the_environment(missing: str, named: str) -> None:
    files = {k: v for k, v in FILES.items() if k != missing}
    with pytest.raises(UserInputError) as failure:
        snapshot(files=files)
    assert missing in str(failure.value)
    assert named in str(failure.value) and "'staging'" in str(failure.value)


def test_a_bad_env_file_line_is_named_without_showing_its_value() -> None:
    files = {**FILES, "deploy/staging.env": "A=1\nthis is no assignment p4ssw0rd\n"}
    with pytest.raises(UserInputError, match=r"deploy/staging.env, line 2") as failure:
        snapshot(files=files)
    assert "p4ssw0rd" not in str(failure.value)


def test_a_secret_without_a_value_is_a_clear_error() -> None:
    with pytest.raises(UserInputError, match="dockyard secret set"):
        build_snapshot(ENV, dict(FILES).get, {})


def test_json_round_trip_keeps_the_fingerprint() -> None:
    original = snapshot()
    through_ledger = json.loads(json.dumps(original.to_json()))
    restored = ConfigSnapshot.from_json(through_ledger)
    assert restored.to_json() == original.to_json()
    assert restored.fingerprint() == original.fingerprint()


def test_fingerprint_changes_with_any_attached_configuration() -> None:
    base = snapshot().fingerprint()
    assert snapshot(secrets={"db_password": "changed"}).fingerprint() != base
    changed_file = {**FILES, "deploy/app.cfg": "[app]\ncolour = red\n"}
    assert snapshot(files=changed_file).fingerprint() != base
    assert snapshot().fingerprint() == base


def test_diff_lists_what_an_approver_would_let_in() -> None:
    old = snapshot()
    new_env = replace(ENV, environment={"LOG_LEVEL": "warn", "FEATURE": "on"}, ports=("8081:80",))
    new = snapshot(
        env=new_env,
        files={**FILES, "deploy/app.cfg": "[app]\ncolour = red\n"},
        secrets={"db_password": "rotated"},
    )
    assert diff_snapshots(old, new) == [
        "+ env FEATURE=on",
        "~ env LOG_LEVEL=debug -> warn",
        "~ config /etc/app/app.cfg changed",
        "~ secret db_password changed",
        "~ ports 8080:80 -> 8081:80",
    ]
    assert diff_snapshots(old, old) == []


def test_diff_against_nothing_shows_everything_as_added() -> None:
    lines = diff_snapshots(None, snapshot())
    assert "+ env DB_HOST=db.internal" in lines
    assert "+ config /etc/app/app.cfg" in lines
    assert "+ secret db_password" in lines
    assert "~ ports none -> 8080:80" in lines
    assert not any("hunter2" in line for line in lines)


def test_command_is_recorded_diffed_and_absent_when_unset() -> None:
    plain = snapshot()
    assert "command" not in plain.to_json()  # older records keep their fingerprint
    served = snapshot(env=replace(ENV, command=("sh", "-c", "./serve --fast")))
    restored = ConfigSnapshot.from_json(json.loads(json.dumps(served.to_json())))
    assert restored.command == ("sh", "-c", "./serve --fast")
    assert restored.fingerprint() == served.fingerprint() != plain.fingerprint()
    assert diff_snapshots(plain, served) == ["~ command image default -> ./serve --fast"]


def test_the_target_is_recorded_bound_and_diffed_and_older_records_keep_theirs() -> None:
    on_a = snapshot(env=replace(ENV, host="prod-a", replicas=2))
    assert on_a.target == DeployTarget("prod-a", "container", 2)
    assert str(on_a.target) == "prod-a (container)"
    restored = ConfigSnapshot.from_json(json.loads(json.dumps(on_a.to_json())))
    assert restored.target == on_a.target and restored.fingerprint() == on_a.fingerprint()
    moved = on_a.aimed(replace(ENV, host="prod-b", mode="service", replicas=3))
    assert moved.fingerprint() != on_a.fingerprint()  # an approval binds where it goes
    assert str(moved.target) == "prod-b (service, 2 replicas)"  # the release's replicas
    assert (
        moved.target.changes_from(on_a.target) == "host prod-a → prod-b, mode container → service"
    )
    assert diff_snapshots(on_a, moved) == ["~ host prod-a -> prod-b", "~ mode container -> service"]
    # Recorded before targets were: no host, the same fingerprint as then, no host diff.
    older = {key: value for key, value in on_a.to_json().items() if key != "host"}
    assert ConfigSnapshot.from_json(older).target is None
    assert ConfigSnapshot.from_json(older).fingerprint() == replace(on_a, host=None).fingerprint()
    assert diff_snapshots(ConfigSnapshot.from_json(older), on_a) == []
    assert on_a.target.changes_from(None) == "not recorded → prod-a (container)"


def test_resource_names_are_valid_docker_names_and_differ_per_repository() -> None:
    name = resource_name("https://git.example/shop/web.git", "qa_2")
    assert name.startswith("dy-web-") and name.endswith("-qa-2")
    assert resource_name("/src/other/web", "qa_2") != name
    assert len(resource_name("x" * 200, "e" * 60)) <= 63


def test_ports_as_docker_wants_them() -> None:
    assert parse_port("127.0.0.1:8080:80/udp") == ("127.0.0.1", 8080, 80, "udp")
    assert container_ports(("8080:80", "127.0.0.1:9090:80", "53/udp")) == {
        "80/tcp": [8080, ("127.0.0.1", 9090)],
        "53/udp": [None],
    }
    assert service_ports(("8080:80",)) == [
        {"TargetPort": 80, "Protocol": "tcp", "PublishMode": "ingress", "PublishedPort": 8080}
    ]


def test_docker_times_with_nanoseconds_parse() -> None:
    parsed = parse_time("2024-05-01T10:20:30.123456789Z")
    assert parsed is not None and parsed.microsecond == 123456 and parsed.utcoffset() is not None
    assert parse_time("0001-01-01T00:00:00Z") is None
