"""tcp:// + TLS endpoints against a real dockerd started with --tlsverify."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import pytest

from dockyard.core.errors import InfrastructureError
from dockyard.engine.endpoints.client import check_endpoint, open_client
from dockyard.engine.endpoints.tls import delete_key_passphrase, set_key_passphrase
from testbed.cli import run_dockyard as dockyard
from testbed.endpoints import saved_endpoints

from .conftest import TlsDaemon
from .pki import RemotePKI

pytestmark = pytest.mark.docker


def test_hosts_test_reports_the_tls_daemon(
    tls_daemon: TlsDaemon, pki: RemotePKI, dockyard_home: Path
) -> None:
    added = dockyard(
        dockyard_home,
        "hosts", "add", "build-box", tls_daemon.url,
        "--tls-ca", str(pki.ca),
        "--tls-cert", str(pki.client.cert),
        "--tls-key", str(pki.client.key),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    result = dockyard(dockyard_home, "hosts", "test", "build-box")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"build-box ({tls_daemon.url}): Docker 20.10")
    assert "not in a swarm" in result.stdout
    assert "linux/" in result.stdout
    as_json = json.loads(dockyard(dockyard_home, "hosts", "test", "build-box", "--json").stdout)
    assert as_json["ok"] is True and as_json["platform"].startswith("linux/")
    listed = dockyard(dockyard_home, "hosts", "list").stdout
    assert f"build-box\t{tls_daemon.url} (TLS)" in listed
    # Settings hold file paths only.
    saved = saved_endpoints(dockyard_home)
    assert saved["build-box"]["tls_key"] == str(pki.client.key)


def test_build_and_run_through_the_tls_endpoint(tls_daemon: TlsDaemon, pki: RemotePKI) -> None:
    tag = f"dyk-tls-{uuid.uuid4().hex[:8]}:1"
    dockerfile = b'FROM busybox:stable\nRUN echo built-over-tls > /marker\nCMD ["cat", "/marker"]\n'
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    client = open_client(pki.endpoint("tls", tls_daemon.url))
    try:
        chunks = list(
            client.api.build(fileobj=context, custom_context=True, tag=tag, decode=True, rm=True)
        )
        assert not [c for c in chunks if "error" in c], chunks
        output = client.containers.run(tag, remove=True)
        assert output == b"built-over-tls\n"
    finally:
        client.images.remove(tag, force=True)
        client.close()


def test_encrypted_key_uses_the_passphrase_from_the_keyring(
    tls_daemon: TlsDaemon, pki: RemotePKI
) -> None:
    name = f"enc-{uuid.uuid4().hex[:8]}"
    endpoint = pki.endpoint(name, tls_daemon.url, pki.client_encrypted)
    missing = check_endpoint(endpoint)
    assert not missing.ok
    assert "passphrase is not in the keyring" in missing.message
    set_key_passphrase(name, pki.passphrase)
    try:
        assert check_endpoint(endpoint).ok
    finally:
        delete_key_passphrase(name)


def test_client_certificate_from_another_ca_is_refused(
    tls_daemon: TlsDaemon, pki: RemotePKI
) -> None:
    endpoint = pki.endpoint("foreign", tls_daemon.url, pki.foreign_client)
    with pytest.raises(InfrastructureError) as caught:
        open_client(endpoint)
    assert "the daemon refused the client certificate" in caught.value.message
    assert caught.value.exit_code == 3


def test_server_certificate_for_another_name_is_refused(
    wrong_name_server: int, pki: RemotePKI
) -> None:
    endpoint = pki.endpoint("wrong-name", f"tcp://127.0.0.1:{wrong_name_server}")
    status = check_endpoint(endpoint)
    assert not status.ok
    assert "the daemon's certificate is not valid for 127.0.0.1" in status.message


def test_server_signed_by_another_ca_is_refused(tls_daemon: TlsDaemon, pki: RemotePKI) -> None:
    other_ca = pki.foreign_client.cert.parent / "other-ca.pem"
    endpoint = pki.endpoint("other-ca", tls_daemon.url, ca=other_ca)
    status = check_endpoint(endpoint)
    assert not status.ok
    assert "not signed by the endpoint's CA" in status.message
