"""The light PostgreSQL client's own logic: SCRAM-SHA-256 against RFC 7677's example, and
what it leaves to psycopg. With a real server: tests/integration/test_team_light_reads.py."""

from __future__ import annotations

import base64
import hashlib
import ssl
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from dockyard.engine.team import TeamServer, parse_server
from dockyard.store.pg_scram import BOUND, MECHANISM, Scram, ScramRefused, ScramUnsupported
from dockyard.store.pg_wire import Unsupported, settings_for
from integration.remote.pki import CertificateAuthority

# RFC 7677, section 3: user "user", password "pencil".
CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_scram_proves_the_password_and_checks_the_server_as_rfc_7677_shows() -> None:
    scram = Scram("pencil", [MECHANISM], None, nonce=CLIENT_NONCE, user="user")
    assert scram.client_first() == b"n,,n=user,r=" + CLIENT_NONCE.encode()
    assert scram.client_final(SERVER_FIRST) == CLIENT_FINAL
    scram.check_server(SERVER_FINAL)
    assert scram.server_checked


def test_a_server_that_does_not_know_the_password_is_refused() -> None:
    scram = Scram("pencil", [MECHANISM], None, nonce=CLIENT_NONCE, user="user")
    scram.client_final(SERVER_FIRST)
    with pytest.raises(ScramRefused, match="incorrect server signature"):
        scram.check_server(b"v=" + b"A" * 44)
    assert not scram.server_checked


def test_a_server_nonce_that_does_not_extend_the_clients_is_refused() -> None:
    scram = Scram("pencil", [MECHANISM], None, nonce=CLIENT_NONCE)
    with pytest.raises(ScramRefused, match="nonce"):
        scram.client_final(b"r=someone-else,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")


def _certificate(tmp_path: Path) -> bytes:
    issued = CertificateAuthority(tmp_path, "team").issue("pg", server_names=("localhost",))
    return ssl.PEM_cert_to_DER_cert(issued.cert.read_text())


def test_over_tls_the_exchange_is_bound_to_the_servers_certificate(tmp_path: Path) -> None:
    certificate = _certificate(tmp_path)  # signed with ECDSA and SHA-256
    scram = Scram("pencil", [MECHANISM, BOUND], certificate, nonce=CLIENT_NONCE)
    assert scram.mechanism == BOUND
    assert scram.client_first() == b"p=tls-server-end-point,,n=,r=" + CLIENT_NONCE.encode()
    final = scram.client_final(SERVER_FIRST).decode()
    bound = b"p=tls-server-end-point,," + hashlib.sha256(certificate).digest()
    assert final.startswith(f"c={base64.b64encode(bound).decode()},r=")


def test_over_tls_a_server_offering_no_binding_is_told_this_client_could(
    tmp_path: Path,
) -> None:
    scram = Scram("pencil", [MECHANISM], _certificate(tmp_path), nonce=CLIENT_NONCE)
    assert scram.client_first().startswith(b"y,,")  # a server that strips -PLUS refuses "y"
    assert scram.client_final(SERVER_FIRST).startswith(b"c=eSws,")  # base64("y,,")


def test_a_server_offering_no_scram_is_left_to_psycopg() -> None:
    with pytest.raises(ScramUnsupported):
        Scram("pencil", ["SCRAM-SHA-1"], None)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://rita@db.example.com:5433/dockyard?sslmode=verify-full"
        "&sslrootcert=/etc/ssl/team%20ca's.pem",
        "postgresql://dev_x@127.0.0.1:5432/team_1",
        "postgresql://dev@localhost/team?application_name=dock%20yard%5C",
    ],
)
def test_the_saved_url_reads_without_psycopg_as_psycopg_reads_it(url: str) -> None:
    server, _ = parse_server(url)
    assert "'" in server.url or "team_1" in url  # values quoted as make_conninfo quotes them
    assert server.params == conninfo_to_dict(server.url)


def test_a_uri_in_team_json_is_read_by_psycopg() -> None:
    server = TeamServer("postgresql://dev@127.0.0.1:5432/team")
    assert server.params == {"user": "dev", "host": "127.0.0.1", "port": "5432", "dbname": "team"}


LOCAL = {"host": "127.0.0.1", "port": "5432", "user": "dev", "dbname": "team"}


@pytest.mark.parametrize(
    ("params", "password", "why"),
    [
        ({**LOCAL, "keepalives": "1"}, "pw", "options"),  # an option it does not know
        ({**LOCAL, "sslmode": "require"}, "pw", "sslmode"),
        ({**LOCAL, "sslmode": "verify-full"}, "pw", "root certificate"),  # libpq's default
        ({**LOCAL, "host": "a,b"}, "pw", "several hosts"),
        ({**LOCAL, "host": ""}, "pw", "default host"),
        (LOCAL, None, "pgpass"),  # no password in the keyring: libpq may find one
        (LOCAL, "pässword", "SASLprep"),
    ],
)
def test_what_libpq_would_do_otherwise_is_left_to_psycopg(
    params: dict[str, object], password: str | None, why: str
) -> None:
    with pytest.raises(Unsupported, match=why):
        settings_for(params, password)


def test_a_pg_variable_in_the_environment_is_left_to_psycopg(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert settings_for(LOCAL, "pw").connect_timeout is None
    monkeypatch.setenv("PGSSLMODE", "require")
    with pytest.raises(Unsupported, match="environment"):
        settings_for(LOCAL, "pw")
