"""Unreachable endpoints answer within the connect timeout, with the reason."""

from __future__ import annotations

import time

import pytest

from dockyard.core.errors import InfrastructureError
from dockyard.engine.endpoints.client import check_endpoint, open_client
from dockyard.engine.endpoints.registry import CONNECT_TIMEOUT, Endpoint
from testbed.ports import free_port

from .pki import RemotePKI

pytestmark = pytest.mark.docker


def test_closed_port_is_refused_at_once(pki: RemotePKI) -> None:
    started = time.monotonic()
    status = check_endpoint(pki.endpoint("far", f"tcp://127.0.0.1:{free_port()}"))
    assert not status.ok
    assert "connection refused" in status.message
    assert time.monotonic() - started < 2


def test_blackholed_address_times_out_within_the_connect_timeout(
    blackholed_address: str, pki: RemotePKI
) -> None:
    started = time.monotonic()
    with pytest.raises(InfrastructureError) as caught:
        open_client(pki.endpoint("far", f"tcp://{blackholed_address}:2376"))
    elapsed = time.monotonic() - started
    assert f"{blackholed_address}:2376 did not answer within 10 s" in caught.value.message
    assert CONNECT_TIMEOUT - 1 < elapsed < CONNECT_TIMEOUT + 3


def test_plain_tcp_to_a_remote_host_is_refused() -> None:
    from dockyard.core.errors import UserInputError

    with pytest.raises(UserInputError) as caught:
        open_client(Endpoint(name="naked", url="tcp://198.18.77.6:2375"))
    assert "Refusing plain tcp:// to 198.18.77.6" in caught.value.message
