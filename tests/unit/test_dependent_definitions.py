"""Dependents' definitions as deployed: what counts as a hand edit (drift) and what does not."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from dockyard.core.model import utcnow
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.deploy import RunningRelease, drift_of
from dockyard.engine.deploy import definitions as D
from dockyard.engine.deploy.labels import DEPENDENT_SPECS

DIGEST = "sha256:" + "d" * 64
# A dependent of a stack as Swarm stores it right after `docker stack deploy`.
CACHE_SPEC: dict[str, Any] = {
    "Name": "dy-web-1a2b3c-prod_cache",
    "Labels": {"com.docker.stack.image": "reg/cache@" + DIGEST,
               "com.docker.stack.namespace": "dy-web-1a2b3c-prod"},
    "Mode": {"Replicated": {"Replicas": 1}},
    "EndpointSpec": {"Mode": "vip"},
    "TaskTemplate": {
        "ContainerSpec": {
            "Image": "reg/cache@" + DIGEST,
            "Env": ["B=2", "A=1"],
            "Isolation": "default",
            "Labels": {"com.docker.stack.namespace": "dy-web-1a2b3c-prod"},
            "Privileges": {"CredentialSpec": None, "SELinuxContext": None},
        },
        "ForceUpdate": 0,
        "Networks": [{"Aliases": ["cache"], "Target": "06qyzx2rgpovstmiz9ujjvf3c"}],
        "Placement": {},
        "Resources": {},
        "Runtime": "container",
    },
}  # fmt: skip


def edit(spec: dict[str, Any], change: Any) -> dict[str, Any]:
    copied = copy.deepcopy(spec)
    change(copied)
    return copied


def test_a_restart_or_written_out_defaults_keep_a_services_definition() -> None:
    def restarted(spec: dict[str, Any]) -> None:  # docker service update --force
        spec["TaskTemplate"]["ForceUpdate"] = 3

    def written_out(spec: dict[str, Any]) -> None:  # what docker-py's update sends back
        container = spec["TaskTemplate"]["ContainerSpec"]
        container["StopGracePeriod"] = 10_000_000_000
        container["DNSConfig"] = {}
        container["Env"] = ["A=1", "B=2"]
        spec["TaskTemplate"]["RestartPolicy"] = {"Condition": "any", "MaxAttempts": 0}
        spec["UpdateConfig"] = {"Parallelism": 1, "Order": "stop-first"}

    deployed = D.service_definition(CACHE_SPEC)
    assert D.service_definition(edit(CACHE_SPEC, restarted)) == deployed
    assert D.service_definition(edit(CACHE_SPEC, written_out)) == deployed


def test_a_hand_edit_changes_a_services_definition() -> None:
    container = "TaskTemplate", "ContainerSpec"
    edits = {
        "env": lambda s: s[container[0]][container[1]]["Env"].append("X=1"),
        "args": lambda s: s[container[0]][container[1]].update(Args=["sleep", "9"]),
        "entrypoint": lambda s: s[container[0]][container[1]].update(Command=["sh"]),
        "replicas": lambda s: s["Mode"]["Replicated"].update(Replicas=0),
        "ports": lambda s: s["EndpointSpec"].update(Ports=[{"TargetPort": 80}]),
        "secret": lambda s: s[container[0]][container[1]].update(Secrets=[{"SecretName": "x"}]),
        "limits": lambda s: s["TaskTemplate"].update(Resources={"Limits": {"MemoryBytes": 9}}),
    }
    deployed = D.service_definition(CACHE_SPEC)
    for what, change in edits.items():
        assert D.service_definition(edit(CACHE_SPEC, change)) != deployed, what


def compose_container(**config: Any) -> dict[str, Any]:
    """A dependent's container as `docker inspect` reports it (the parts that matter)."""
    labels = {
        "com.docker.compose.project": "dy-web-1a2b3c-prod",
        "com.docker.compose.service": "cache",
        "com.docker.compose.config-hash": "9f" * 32,
        "com.docker.compose.project.config_files": "/tmp/dydeploy-abc/compose.yml",
        "com.docker.compose.container-number": "1",
    }
    return {
        "Name": "/dy-web-1a2b3c-prod_cache_1",
        "Image": "sha256:" + "1" * 64,
        "Config": {"Image": "reg/cache@" + DIGEST, "Hostname": "4f1c2a", "Cmd": ["httpd"],
                   "Env": ["PATH=/bin"], "Labels": labels} | config,
        "HostConfig": {"NetworkMode": "dy-web-1a2b3c-prod", "Binds": []},
        "Mounts": [{"Type": "volume", "Name": "a" * 64, "Destination": "/data", "RW": True}],
        "NetworkSettings": {"Networks": {"dy-web-1a2b3c-prod": {"IPAddress": "10.0.0.3"}}},
        "State": {"Status": "running"},
    }  # fmt: skip


def test_a_compose_re_create_of_the_same_definition_is_no_edit_another_command_is() -> None:
    app = D.containers_marks([compose_container()])  # the app container's label
    assert D.containers_edited(app, [compose_container()]) == ()
    # compose re-created it from the same file (a put-back): another temporary file,
    # hostname, address and container number, its anonymous volume kept.
    again = compose_container(Hostname="77aa01")
    again["Config"]["Labels"] |= {
        "com.docker.compose.project.config_files": "/tmp/dydeploy-xyz/compose.yml",
        "com.docker.compose.replace": "4f1c2a_dy-web-1a2b3c-prod_cache_1",
    }
    again["NetworkSettings"]["Networks"]["dy-web-1a2b3c-prod"]["IPAddress"] = "10.0.0.9"
    assert D.containers_edited(app, [again]) == ()
    # A one-off container of the service beside it (`docker compose run cache sh`).
    one_off = compose_container(Cmd=["sh"])
    one_off["Config"]["Labels"] |= {"com.docker.compose.oneoff": "True"}
    assert D.containers_edited(app, [compose_container(), one_off]) == ()
    # Re-created by hand with its labels but another command; or removed.
    assert D.containers_edited(app, [compose_container(Cmd=["sleep", "3600"])]) == ("cache",)
    assert D.containers_edited(app, []) == ("cache",)


def test_releases_deployed_before_the_record_show_no_edit() -> None:
    assert D.recorded_marks({}) is None
    assert D.containers_edited({}, [compose_container(Cmd=["sleep", "3600"])]) == ()
    assert D.edited(None, {"cache": "x"}) == ()
    assert D.edited({}, {"cache": "x"}) == ()  # a release without dependents
    text = D.marks_text({"worker": "2b", "cache": "1a"})
    assert text == "cache=1a,worker=2b"
    assert D.recorded_marks({DEPENDENT_SPECS: text}) == {"cache": "1a", "worker": "2b"}


def test_an_edited_dependent_is_drift_naming_it_and_how_to_put_the_release_back() -> None:
    recorded = Deployment(
        id=12, repo="shop/web", environment="prod", digest=DIGEST, image="app@" + DIGEST,
        commit="c" * 40, tag="v1", run_id="r1", config={}, status=DeploymentStatus.DEPLOYED,
        started=utcnow(), finished=utcnow(), deployed_by="dev", approved_by=(), rollback=False,
        rolled_back_from=None, comment="", error="",
    )  # fmt: skip
    live = RunningRelease(
        repo="shop/web", environment="prod", image="app@" + DIGEST, digest=DIGEST,
        deployment_id=12, config_fingerprint="", state="running", healthy=True, since=None,
        name="dy-web",
    )  # fmt: skip
    assert drift_of(recorded, [replace(live, edited_services=("cache",))]) == (
        "its service cache was changed or removed since Dockyard deployed v1; put it back "
        "with: dockyard rollback shop/web prod --to 12 --comment REASON"
    )
    both = replace(live, edited_services=("cache", "worker"))
    assert "its service cache, worker were changed or removed" in str(drift_of(recorded, [both]))
    # One that does not run says so first.
    stopped = replace(live, edited_services=("cache",), stopped_services=("cache",))
    assert drift_of(recorded, [stopped]) == "its service cache does not run; Dockyard deployed v1"
