"""A run's requests (inspect, tag, push, remove) answer the same over the daemon's socket,
spoken to without Docker's SDK, as through the SDK's connection, which endpoints other
than a local socket use: the run's code is written once for both."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from dockyard.engine.endpoints.daemon_api import DaemonApi, path_of
from dockyard.engine.endpoints.reading import open_api
from dockyard.engine.endpoints.record import Endpoint
from dockyard.engine.endpoints.sdk_reader import SdkApi
from dockyard.engine.endpoints.socket_http import DaemonRefused
from testbed.cli import remove_images
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker]


def _push(api: DaemonApi, name: str, tag: str) -> list[dict[str, object]]:
    api.post(path_of("/images/{}/tag", "busybox:stable"), repo=name, tag=tag)
    return list(api.stream(path_of("/images/{}/push", name), {"X-Registry-Auth": "e30="}, tag=tag))


def test_the_socket_and_the_sdk_answer_a_run_s_requests_alike(
    tmp_path: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    socket_api = open_api(Endpoint(name="test", url=docker_daemon.url), timeout=60)
    transports = {"socket": socket_api, "sdk": SdkApi(docker_client)}
    busybox = docker_client.images.get("busybox:stable").attrs
    name = f"{registry.host}/api/busybox"
    refusals, digests = {}, {}
    try:
        for label, api in transports.items():
            inspected = api.get(path_of("/images/{}/json", "busybox:stable"))
            assert (inspected["Id"], inspected["Config"]) == (busybox["Id"], busybox["Config"])
            with pytest.raises(DaemonRefused) as missing:
                api.get(path_of("/images/{}/json", "nowhere.test/no/such:image"))
            refusals[label] = (missing.value.status, str(missing.value))
            pushed = _push(api, name, label)
            (digest,) = [m["aux"]["Digest"] for m in pushed if isinstance(m.get("aux"), dict)]
            digests[label] = digest
            api.delete(path_of("/images/{}", f"{name}:{label}"))
            assert api.get(path_of("/images/{}/json", busybox["Id"]))["Id"] == busybox["Id"]
        assert refusals["socket"] == refusals["sdk"]
        assert refusals["socket"][0] == 404 and "no/such" in refusals["socket"][1]
        assert digests["socket"] == digests["sdk"]  # the same image, pushed either way
        # A push the registry refuses streams its error as a message, either way.
        for api in transports.values():
            refused = _push(api, "127.0.0.1:1/api/unreachable", "x")
            assert any("error" in message for message in refused)
    finally:
        remove_images(docker_client, f"{name}:", "127.0.0.1:1/api/unreachable:")
        socket_api.close()
