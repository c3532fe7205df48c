"""``dockyard hosts``: named Docker endpoints."""

from __future__ import annotations

import argparse
from typing import Any

from dockyard.core.errors import InfrastructureError
from dockyard.engine.endpoints import Endpoint, EndpointRegistry, check_endpoint
from dockyard.engine.home import dockyard_home


def register(commands: Any) -> None:
    hosts = commands.add_parser("hosts", help="Docker endpoints: list, add, remove, test")
    sub = hosts.add_subparsers(dest="hosts_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="list endpoints").set_defaults(handler=list_hosts)
    add = sub.add_parser("add", help="add an endpoint (unix://, tcp:// with TLS, ssh://)")
    add.add_argument("name")
    add.add_argument("url")
    add.add_argument("--tls-ca", default="")
    add.add_argument("--tls-cert", default="")
    add.add_argument("--tls-key", default="")
    add.set_defaults(handler=add_host)
    remove = sub.add_parser("remove", help="remove an endpoint")
    remove.add_argument("name")
    remove.set_defaults(handler=remove_host)
    test = sub.add_parser("test", help="ping an endpoint: version, Swarm role, platform")
    test.add_argument("name")
    test.set_defaults(handler=test_host)


def list_hosts(args: argparse.Namespace) -> int:
    for endpoint in EndpointRegistry(dockyard_home()).list():
        tls = " (TLS)" if endpoint.tls_cert else ""
        print(f"{endpoint.name}\t{endpoint.display_url}{tls}")
    return 0


def add_host(args: argparse.Namespace) -> int:
    endpoint = Endpoint(
        name=args.name,
        url=args.url,
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    EndpointRegistry(dockyard_home()).add(endpoint)
    print(f"Added Docker endpoint {args.name} ({args.url}).")
    return 0


def remove_host(args: argparse.Namespace) -> int:
    EndpointRegistry(dockyard_home()).remove(args.name)
    print(f"Removed Docker endpoint {args.name}.")
    return 0


def test_host(args: argparse.Namespace) -> int:
    endpoint = EndpointRegistry(dockyard_home()).get(args.name)
    status = check_endpoint(endpoint)
    if not status.ok:
        raise InfrastructureError(status.message)
    print(f"{endpoint.name}: {status.message}")
    return 0
