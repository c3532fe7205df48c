"""``dockyard hosts``: named Docker endpoints (unix, tcp + TLS, ssh, Docker contexts)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dockyard.core.errors import InfrastructureError
from dockyard.engine.endpoints.client import check_endpoint
from dockyard.engine.endpoints.contexts import import_contexts
from dockyard.engine.endpoints.registry import Endpoint, EndpointRegistry
from dockyard.engine.endpoints.tls import set_key_passphrase
from dockyard.engine.home import dockyard_home


def register(commands: Any) -> None:
    hosts = commands.add_parser("hosts", help="Docker endpoints: list, add, remove, test")
    sub = hosts.add_subparsers(dest="hosts_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="list endpoints").set_defaults(handler=list_hosts)
    add = sub.add_parser("add", help="add an endpoint (unix://, tcp:// with TLS, ssh://)")
    add.add_argument("name")
    add.add_argument("url", help="unix:///path, tcp://host:2376 (with TLS) or ssh://user@host")
    add.add_argument("--tls-ca", default="", help="CA certificate that signed the daemon's")
    add.add_argument("--tls-cert", default="", help="client certificate")
    add.add_argument("--tls-key", default="", help="client key (a passphrase: hosts passphrase)")
    add.add_argument("--ssh-identity", default="", help="private key file for ssh://")
    add.add_argument("--ssh-known-hosts", default="", help="known_hosts file for ssh://")
    add.add_argument("--ssh-config", default="", help="ssh_config file instead of ~/.ssh/config")
    add.add_argument("--replace", action="store_true", help="replace an endpoint of the same name")
    add.set_defaults(handler=add_host)
    remove = sub.add_parser("remove", help="remove an endpoint")
    remove.add_argument("name")
    remove.set_defaults(handler=remove_host)
    test = sub.add_parser("test", help="ping an endpoint: version, Swarm role, platform")
    test.add_argument("name")
    test.add_argument("--json", action="store_true", help="print the result as JSON")
    test.set_defaults(handler=test_host)
    imports = sub.add_parser("import-contexts", help="add an endpoint per Docker context")
    imports.set_defaults(handler=import_docker_contexts)
    passphrase = sub.add_parser(
        "passphrase", help="read the TLS key passphrase of an endpoint from stdin into the keyring"
    )
    passphrase.add_argument("name")
    passphrase.set_defaults(handler=store_passphrase)


def list_hosts(args: argparse.Namespace) -> int:
    for endpoint in EndpointRegistry(dockyard_home()).list():
        notes = []
        if endpoint.uses_tls:
            notes.append("TLS")
        if endpoint.context:
            notes.append(f"context {endpoint.context}")
        suffix = f" ({', '.join(notes)})" if notes else ""
        print(f"{endpoint.name}\t{endpoint.display_url}{suffix}")
    return 0


def add_host(args: argparse.Namespace) -> int:
    endpoint = Endpoint(
        name=args.name,
        url=args.url,
        tls_ca=_absolute(args.tls_ca),
        tls_cert=_absolute(args.tls_cert),
        tls_key=_absolute(args.tls_key),
        ssh_identity=_absolute(args.ssh_identity),
        ssh_known_hosts=_absolute(args.ssh_known_hosts),
        ssh_config=_absolute(args.ssh_config),
    )
    EndpointRegistry(dockyard_home()).add(endpoint, replace=args.replace)
    print(f"Added Docker endpoint {args.name} ({args.url}).")
    # Saved either way (the host may be down just now); a failed test is only a warning.
    status = check_endpoint(endpoint)
    if status.ok:
        print(f"{endpoint.name}: {status.message}")
    else:
        print(f"dockyard: warning: {status.message}", file=sys.stderr)
    return 0


def _absolute(path: str) -> str:
    """Files are kept by absolute path: a later command may run in another folder."""
    return str(Path(path).expanduser().absolute()) if path else ""


def remove_host(args: argparse.Namespace) -> int:
    EndpointRegistry(dockyard_home()).remove(args.name)
    print(f"Removed Docker endpoint {args.name}.")
    return 0


def test_host(args: argparse.Namespace) -> int:
    endpoint = EndpointRegistry(dockyard_home()).get(args.name)
    status = check_endpoint(endpoint)
    if args.json:
        print(json.dumps(asdict(status), indent=2))
    if not status.ok:
        raise InfrastructureError(status.message)
    if not args.json:
        print(f"{endpoint.name} ({status.url}): {status.message}")
    return 0


def import_docker_contexts(args: argparse.Namespace) -> int:
    results = import_contexts(EndpointRegistry(dockyard_home()))
    if not results:
        print("No Docker contexts besides 'default' to import.")
    for result in results:
        print(f"{result.name}\t{result.url}\t{result.outcome}")
    return 0


def store_passphrase(args: argparse.Namespace) -> int:
    endpoint = EndpointRegistry(dockyard_home()).get(args.name)
    set_key_passphrase(endpoint.name, sys.stdin.read().rstrip("\n"))
    print(f"TLS key passphrase of {endpoint.name} stored in the keyring.")
    return 0
