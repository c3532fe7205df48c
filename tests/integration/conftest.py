"""Fixtures the integration tests share: the deployer tests' pushed images, a registry that
wants a login, and a slow approval deploying to production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from integration.deploy_images import CACHE, PushedImage, TestImages, build_test_images, push_image
from integration.slow_approval import SlowApproval, slow_approval_deploying
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry, start_auth_registry


@pytest.fixture(scope="session")
def images(docker_daemon: PrivateDaemon, registry: LocalRegistry) -> TestImages:
    """Built and pushed once: tests deploy them by digest and never change them."""
    client = docker_daemon.client()
    try:
        return build_test_images(client, registry.host)
    finally:
        client.close()


@pytest.fixture(scope="session")
def cache(docker_daemon: PrivateDaemon, registry: LocalRegistry) -> PushedImage:
    """The stand-in for redis that compose files run beside the app."""
    client = docker_daemon.client()
    try:
        return push_image(client, registry.host, "cache", CACHE)
    finally:
        client.close()


@pytest.fixture(scope="module")
def auth_registry(docker_daemon: PrivateDaemon) -> Iterator[LocalRegistry]:
    """A registry that refuses anonymous access (``AUTH_USER`` and a random password);
    stopped after the module."""
    registry = start_auth_registry()
    yield registry
    registry.stop()


@pytest.fixture
def slow_approval(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> Iterator[SlowApproval]:
    """``dockyard approve`` of a slow v2.0.0 deploying over v1.0.0 in production."""
    with slow_approval_deploying(
        tmp_path, dockyard_home, swarm_daemon, docker_client, registry
    ) as slow:
        yield slow
