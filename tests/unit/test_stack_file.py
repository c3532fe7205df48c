"""mode: stack: which service is the app, what docker stack deploy is given, what is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest
from ruamel.yaml import YAML

from dockyard.core.errors import UserInputError
from dockyard.core.model import utcnow
from dockyard.core.pipeline_file import BuildConfig, EnvironmentConfig, HealthcheckConfig
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.deploy import (
    ConfigSnapshot,
    DeploymentRequest,
    RunningRelease,
    build_snapshot,
    diff_snapshots,
    drift_of,
)
from dockyard.engine.deploy.pins import pin_dependents, repository
from dockyard.engine.deploy.stack_file import app_service, load_stack, stack_document
from dockyard.engine.secrets import Fingerprints

DIGEST = "sha256:" + "ab" * 32
IMAGE = "127.0.0.1:5000/shop/web@" + DIGEST
STACK = """\
services:
  web:
    build: ..
    environment: [FROM_FILE=yes, LOG_LEVEL=info]
    ports: ["8080:80"]
  redis:
    image: redis:7
    deploy: {replicas: 2}
volumes:
  cache: {}
"""


def app_of(text: str, named: str | None = None, build: BuildConfig | None = None) -> str:
    return app_service(
        load_stack(text, "deploy/stack.yml"), "deploy/stack.yml", "prod", named, build
    )


def test_the_app_is_named_else_uses_the_image_variable_else_the_pipeline_build() -> None:
    two = "services:\n  a: {image: x}\n  b: {image: '${DOCKYARD_IMAGE}'}\n"
    assert app_of(two) == "b"
    assert app_of(two, named="a") == "a"
    built = "services:\n  a: {image: x}\n  b: {build: {context: .., dockerfile: app.Dockerfile}}\n"
    assert app_of(built, build=BuildConfig(context=".", dockerfile="app.Dockerfile")) == "b"
    assert app_of("services:\n  only: {image: x}\n") == "only"


def test_an_unknown_or_ambiguous_app_service_is_one_sentence() -> None:
    with pytest.raises(
        UserInputError, match=r"names service 'db', which deploy/stack\.yml does not"
    ):
        app_of(STACK, named="db")
    two = "services:\n  a: {image: x}\n  b: {image: y}\n"
    with pytest.raises(UserInputError, match=r"name it with service: in environments.prod"):
        app_of(two)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: '2.4'\nservices: {a: {image: x}}\n", "version 3.x"),
        ("services: []\n", "needs a services: mapping"),
        ("services: {a: {image: x, env_file: a.env}}\n", "service a has env_file beside it"),
        ("services: {a: {image: x}}\nconfigs: {c: {file: ./c.cfg}}\n", "config c is read"),
        ("services: {a: [\n", "not valid YAML"),
    ],
)
def test_files_swarm_could_not_deploy_as_recorded_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(UserInputError, match=fragment):
        load_stack(text, "deploy/stack.yml")


def request_for(env: EnvironmentConfig) -> DeploymentRequest:
    marks = Fingerprints(b"k" * 32).marks({})
    snapshot = build_snapshot(env, {"deploy/stack.yml": STACK}.get, marks, BuildConfig())
    return DeploymentRequest(
        repo="shop/web", environment="prod", image=IMAGE, digest=DIGEST, commit="c" * 40,
        tag="v1", run_id="r1", deployment_id=9, deployed_by="dev", approved_by=(),
        rollback=False, snapshot=snapshot,
    )  # fmt: skip


def test_the_app_service_is_pinned_and_configured_and_dependents_stay_as_written() -> None:
    env = EnvironmentConfig(
        name="prod", mode="stack", compose="deploy/stack.yml", environment={"LOG_LEVEL": "warn"},
        ports=("9090:80",), volumes=("data:/var/lib/app",), replicas=2, grace=3,
        command=("sh", "-c", "./serve"),
        healthcheck=HealthcheckConfig(test=("CMD-SHELL", "true"), interval=2),
    )  # fmt: skip
    request = request_for(env)
    assert request.snapshot.stack is not None and request.snapshot.stack.service == "web"
    secret = {"SecretName": "dy-web-pw-0123456789", "File": {"Name": "db_password"}}
    document = YAML(typ="safe").load(stack_document(request, [secret], [], monitor=4))  # type: ignore[list-item]
    web = document["services"]["web"]
    assert "build" not in web and web["image"] == IMAGE
    assert web["environment"] == {"FROM_FILE": "yes", "LOG_LEVEL": "warn"}
    assert web["command"] == ["sh", "-c", "./serve"]
    assert web["ports"] == ["8080:80", "9090:80"]
    assert web["deploy"]["replicas"] == 2
    assert web["deploy"]["labels"]["dockyard.deployment"] == "9"
    assert web["labels"]["dockyard.digest"] == DIGEST
    assert web["deploy"]["update_config"]["order"] == "start-first"
    assert web["healthcheck"]["test"] == ["CMD-SHELL", "true"]
    assert web["secrets"] == [
        {"source": "dockyard-secret-0", "target": "db_password", "mode": 0o444}
    ]
    assert document["secrets"] == {
        "dockyard-secret-0": {"external": True, "name": secret["SecretName"]}
    }
    assert document["volumes"] == {"cache": {}, "data": {"name": "data"}}
    assert document["services"]["redis"] == {"image": "redis:7", "deploy": {"replicas": 2}}
    assert document["version"] == "3.8"


def test_a_changed_stack_file_shows_in_the_approval_diff() -> None:
    env = EnvironmentConfig(name="prod", mode="stack", compose="deploy/stack.yml")
    before = request_for(env).snapshot
    marks = Fingerprints(b"k" * 32).marks({})
    changed = STACK.replace("redis:7", "redis:8")
    after = build_snapshot(env, {"deploy/stack.yml": changed}.get, marks, BuildConfig())
    # The approver sees what the file lets in, service by service, not only that it changed.
    assert diff_snapshots(before, after) == [
        "~ stack deploy/stack.yml changed",
        "~ stack service redis: image redis:7 -> redis:8",
    ]
    assert diff_snapshots(None, before)[-3:] == [
        "+ stack deploy/stack.yml (app service web)",
        "+ stack service redis (image redis:7)",
        "+ stack service web",
    ]
    grown = STACK.replace("volumes:", "  miner:\n    image: evil/miner\nvolumes:").replace(
        'ports: ["8080:80"]', 'ports: ["8080:80"]\n    privileged: true'
    )
    after = build_snapshot(env, {"deploy/stack.yml": grown}.get, marks, BuildConfig())
    assert diff_snapshots(before, after) == [
        "~ stack deploy/stack.yml changed",
        "+ stack service miner (image evil/miner)",
        "~ stack service web: privileged changed",
    ]
    assert diff_snapshots(after, before)[1] == "- stack service miner"


def test_a_dependent_that_does_not_run_is_drift() -> None:
    recorded = Deployment(
        id=1, repo="shop/web", environment="prod", digest=DIGEST, image=IMAGE, commit="c" * 40,
        tag="v1", run_id="r1", config={}, status=DeploymentStatus.DEPLOYED, started=utcnow(),
        finished=utcnow(), deployed_by="dev", approved_by=(), rollback=False,
        rolled_back_from=None, comment="", error="",
    )  # fmt: skip
    live = RunningRelease(
        repo="shop/web", environment="prod", image=IMAGE, digest=DIGEST, deployment_id=1,
        config_fingerprint="", state="running", healthy=True, since=None, name="dy-web",
    )  # fmt: skip
    assert drift_of(recorded, [live]) is None
    stopped = replace(live, stopped_services=("cache", "queue"))
    assert (
        drift_of(recorded, [stopped]) == "its service cache, queue do not run; Dockyard deployed v1"
    )


def test_pinned_dependents_are_deployed_recorded_and_diffed_by_digest() -> None:
    env = EnvironmentConfig(name="prod", mode="stack", compose="deploy/stack.yml")
    request = request_for(env)
    unpinned = request.snapshot
    assert unpinned.stack is not None
    # Snapshots recorded before pins keep their JSON, so their fingerprint.
    assert "pins" not in unpinned.to_json()["stack"]
    first, moved = "redis@sha256:" + "1" * 64, "redis@sha256:" + "2" * 64
    pinned = replace(unpinned, stack=replace(unpinned.stack, pins={"redis": first}))
    assert ConfigSnapshot.from_json(pinned.to_json()) == pinned
    assert pinned.fingerprint() != unpinned.fingerprint()

    document = YAML(typ="safe").load(stack_document(replace(request, snapshot=pinned), [], [], 4))
    assert document["services"]["redis"]["image"] == first

    # The tag moved between two requests of the same file: the approver sees the digests.
    later = replace(pinned, stack=replace(unpinned.stack, pins={"redis": moved}))
    assert diff_snapshots(pinned, later) == [f"~ stack service redis: image {first} -> {moved}"]
    assert diff_snapshots(unpinned, pinned) == [f"~ stack service redis: image redis:7 -> {first}"]


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("redis:7", "redis"),
        ("127.0.0.1:5000/shop/cache:1", "127.0.0.1:5000/shop/cache"),
        ("127.0.0.1:5000/shop/cache", "127.0.0.1:5000/shop/cache"),
    ],
)
def test_a_tag_is_pinned_to_its_repository(image: str, name: str) -> None:
    assert repository(image) == name


def test_only_dependents_given_by_tag_are_resolved() -> None:
    """The app, a worker on ``${DOCKYARD_IMAGE}`` and an image given by digest need no
    registry: nothing is asked for them (the client would fail)."""
    text = STACK.replace("redis:7", "redis@" + DIGEST).replace(
        "volumes:\n", "  worker:\n    image: ${DOCKYARD_IMAGE}\nvolumes:\n", 1
    )
    env = EnvironmentConfig(name="prod", mode="stack", compose="deploy/stack.yml")
    marks = Fingerprints(b"k" * 32).marks({})
    stack = build_snapshot(env, {"deploy/stack.yml": text}.get, marks, BuildConfig()).stack
    assert stack is not None
    assert "worker:" in stack.content
    assert pin_dependents(None, stack, "prod").pins == {}  # type: ignore[arg-type]
