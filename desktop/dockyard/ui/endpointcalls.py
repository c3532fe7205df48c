"""Endpoint reads the window's workers make. Checking an endpoint imports the Docker SDK
(~0.15 s), so it is imported by the first worker that needs it, not before the window
shows its runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.engine.endpoints.record import Endpoint

if TYPE_CHECKING:
    from dockyard.engine.endpoints.registry import EndpointStatus


def list_endpoints(home: Path) -> list[Endpoint]:
    from dockyard.engine.endpoints.registry import EndpointRegistry

    return EndpointRegistry(home).list()


def check_endpoint(endpoint: Endpoint) -> EndpointStatus:
    from dockyard.engine.endpoints.client import check_endpoint as check

    return check(endpoint)
