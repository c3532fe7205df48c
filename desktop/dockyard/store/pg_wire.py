"""A small PostgreSQL client on the standard library, for the team ledger's reads.

``dockyard status`` and ``dockyard runs`` only read the team ledger, yet importing psycopg
takes ~75 ms (about 80 modules, asyncio and ssl among them): most of what team mode cost
them over the local ledger. This client speaks the protocol (version 3) itself for those
reads: TCP or a Unix socket; TLS through ``ssl``, verified as libpq's ``sslmode`` says;
SCRAM-SHA-256 as libpq does it (``store/pg_scram.py``); the extended query protocol, the
parameters sent apart from the SQL, as text; the column types the store reads.

Whatever it does not do as libpq would (another login method, a URL option, a type) raises
``Unsupported``, and ``store/pg_reading.py`` leaves that to psycopg; it never writes.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dockyard.store.pg_ledger import PgRow
from dockyard.store.pg_scram import Scram, ScramRefused, ScramUnsupported

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
# libpq's keywords this client honours; any other in the URL is psycopg's to handle.
KEYWORDS = frozenset(
    {"host", "port", "user", "dbname", "connect_timeout", "application_name", "sslmode",
     "sslrootcert"}
)  # fmt: skip
# SQLSTATE classes psycopg raises as OperationalError: the session or the server failed.
OPERATIONAL = ("08", "27", "28", "2F", "38", "39", "3B", "40", "53", "54", "55", "57", "58",
               "F", "H")  # fmt: skip


class Unsupported(Exception):
    """Something this client does not do as libpq would: psycopg does it instead."""


class WireError(Exception):
    """The connection failed or broke; the text says why, in libpq's words."""


class ServerError(Exception):
    """The server's error for a statement (the session may still be usable)."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.sqlstate = fields.get("C", "")
        self.message = fields.get("M", "")
        super().__init__(self.message)

    @property
    def operational(self) -> bool:
        return self.sqlstate.startswith(OPERATIONAL)


@dataclass(frozen=True)
class Settings:
    """How to reach and log in to the server."""

    host: str
    port: int
    user: str
    dbname: str
    password: str
    sslmode: str
    sslrootcert: str
    connect_timeout: float | None


def settings_for(params: Mapping[str, object], password: str | None) -> Settings:
    """The login ``params`` (libpq's keywords) describe; ``Unsupported`` when libpq would
    do something this client does not (or might: a ``PG*`` variable is set)."""
    if set(params) - KEYWORDS or any(name.startswith("PG") for name in os.environ):
        raise Unsupported("libpq options or environment variables")
    if not password or not password.isascii():
        raise Unsupported("no password (libpq's pgpass), or one that SASLprep may change")
    host, sslmode = str(params.get("host") or ""), str(params.get("sslmode") or "prefer")
    rootcert = str(params.get("sslrootcert") or "")
    if not host or "," in host or sslmode not in ("disable", "prefer", "verify-ca", "verify-full"):
        raise Unsupported("libpq's default host, several hosts, or this sslmode")
    if sslmode.startswith("verify") and not rootcert:
        raise Unsupported("libpq's default root certificate")
    timeout = int(str(params.get("connect_timeout") or 0))
    user = str(params.get("user") or "")
    return Settings(
        host, int(str(params.get("port") or 5432)), user, str(params.get("dbname") or user),
        password, sslmode, rootcert, max(timeout, 2) if timeout > 0 else None,
    )  # fmt: skip


class WireCursor:
    """A statement's rows, all received."""

    def __init__(self, rows: list[PgRow], rowcount: int) -> None:
        self._rows = iter(rows)
        self.rowcount = rowcount

    def fetchone(self) -> PgRow | None:
        return next(self._rows, None)

    def fetchall(self) -> list[PgRow]:
        return list(self._rows)

    def __iter__(self) -> Iterator[PgRow]:
        return self._rows


class WireSession:
    """One logged-in session, autocommit: each statement is its own transaction."""

    in_transaction = False

    def __init__(self, settings: Settings, startup: Mapping[str, str]) -> None:
        """``startup``: settings for the session (``application_name``, ``search_path``)."""
        self.closed = False
        self.mechanism = ""  # how it logged in: SCRAM-SHA-256, or -PLUS (bound to TLS)
        self._socket = _connected(settings)
        self._stream = self._socket.makefile("rb")
        try:
            self._log_in(settings, startup)
            self._socket.settimeout(None)  # connect_timeout covers the login alone, as libpq's
        except BaseException:
            self._drop()
            raise

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> WireCursor:
        """``sql`` with ``?`` placeholders, ``parameters`` sent apart from it."""
        if isinstance(parameters, Mapping):
            raise Unsupported("named parameters")
        if self.closed:
            raise WireError("the connection is closed")
        types, values = zip(*map(_parameter, parameters), strict=True) if parameters else ((), ())
        if parameters:
            parts = sql.split("?")
            sql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        self._send(
            _message(b"P", b"\0" + _cstring(sql) + _int(len(types), 2)
                     + b"".join(_int(oid, 4) for oid in types)),
            _message(b"B", b"\0\0" + _int(0, 2) + _int(len(values), 2)
                     + b"".join(_int(-1, 4) if v is None else _int(len(v), 4) + v for v in values)
                     + _int(0, 2)),
            _message(b"D", b"P\0"), _message(b"E", b"\0" + _int(0, 4)), _message(b"S", b""),
        )  # fmt: skip
        return self._results()

    def _results(self) -> WireCursor:
        names: dict[str, int] = {}
        decoders: list[Callable[[bytes], Any]] = []
        rows: list[PgRow] = []
        rowcount, failure = -1, None
        while True:
            kind, body = self._receive(failure)
            if kind == b"T":
                names, decoders, failure = _columns(body)
            elif kind == b"D" and failure is None:
                try:
                    rows.append(PgRow(names, _row(body, decoders)))
                except ValueError:  # a value psycopg refuses too ('infinity'): its sentence
                    failure = Unsupported("a value this client cannot read")
            elif kind == b"C":
                tag = body[:-1].rsplit(b" ", 1)[-1]
                rowcount = int(tag) if tag.isdigit() else -1
            elif kind == b"E":
                failure = ServerError(_fields(body))
            elif kind == b"Z":
                if failure is not None:
                    raise failure
                return WireCursor(rows, rowcount)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(WireError):  # goodbye: the server ends the session now
                self._send(_message(b"X", b""))
            self._drop()

    def _drop(self) -> None:
        self.closed = True
        self._stream.close()
        self._socket.close()

    def _log_in(self, settings: Settings, startup: Mapping[str, str]) -> None:
        values = {"user": settings.user, "database": settings.dbname, **startup}
        body = _int(PROTOCOL_3, 4) + b"".join(_cstring(k) + _cstring(v) for k, v in values.items())
        self._send(_int(len(body) + 5, 4) + body + b"\0")
        try:
            self._authenticate(settings.password)
        except ScramRefused as exc:
            raise WireError(str(exc)) from exc
        except ScramUnsupported as exc:
            raise Unsupported(str(exc)) from exc
        parameters: dict[str, str] = {}
        while True:  # the session's settings, until it is ready for queries
            kind, body = self._receive(None)
            if kind == b"E":
                raise _refusal(body)
            if kind == b"S":
                name, value, _ = body.split(b"\0", 2)
                parameters[name.decode()] = value.decode()
            elif kind == b"Z":
                break
        if parameters.get("client_encoding") != "UTF8" or not parameters.get(
            "DateStyle", ""
        ).startswith("ISO"):
            raise Unsupported("an encoding or a date style other than UTF8 and ISO")

    def _authenticate(self, password: str) -> None:
        """SCRAM-SHA-256, the only way this client logs in (the server proves itself)."""
        scram: Scram | None = None
        while scram is None or not scram.server_checked:
            kind, body = self._receive(None)
            code = int.from_bytes(body[:4], "big") if kind == b"R" else -1
            if kind == b"E":
                raise _refusal(body)
            if code == 10 and scram is None:
                offered = [name.decode() for name in body[4:].split(b"\0") if name]
                tls = hasattr(self._socket, "getpeercert")  # an ssl.SSLSocket
                certificate = self._socket.getpeercert(True) if tls else None  # type: ignore[attr-defined]
                scram = Scram(password, offered, certificate)
                first = scram.client_first()
                self._send(_message(b"p", _cstring(scram.mechanism) + _int(len(first), 4) + first))
            elif code == 11 and scram is not None:
                self._send(_message(b"p", scram.client_final(body[4:])))
            elif code == 12 and scram is not None:
                scram.check_server(body[4:])
            elif kind == b"R":
                raise ScramUnsupported(f"the login method {code} (not SCRAM-SHA-256)")
        self.mechanism = scram.mechanism
        kind, body = self._receive(None)
        if kind == b"E":
            raise _refusal(body)
        if (kind, body[:4]) != (b"R", _int(0, 4)):
            raise WireError(f"unexpected message {kind!r} after the login")

    def _send(self, *messages: bytes) -> None:
        try:
            self._socket.sendall(b"".join(messages))
        except OSError as exc:
            self._drop()
            raise WireError(f"could not send data to server: {_why(exc)}") from exc

    def _receive(self, failure: Exception | None) -> tuple[bytes, bytes]:
        """The next message (kind, body); notices and notifications are passed over."""
        while True:
            try:
                head = self._stream.read(5)
                size = int.from_bytes(head[1:], "big") - 4 if len(head) == 5 else 0
                body = self._stream.read(size)
            except OSError as exc:
                self._drop()
                raise WireError(f"could not receive data from server: {_why(exc)}") from exc
            if len(head) < 5 or len(body) < size:
                self._drop()
                if isinstance(failure, ServerError):
                    raise failure  # the server said why it ended the session
                raise WireError("server closed the connection unexpectedly")
            if head[:1] not in (b"N", b"A"):
                return head[:1], body


def _connected(settings: Settings) -> socket.socket:
    """The socket to the server, in TLS when ``sslmode`` asks for it (libpq's way: the
    SSLRequest first; never over a Unix socket)."""
    host, port = settings.host, settings.port
    try:
        if host.startswith("/"):
            unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            unix.settimeout(settings.connect_timeout)
            try:
                unix.connect(f"{host}/.s.PGSQL.{port}")
            except BaseException:
                unix.close()
                raise
            return unix
        # An ASCII name as bytes (getaddrinfo takes them): a str imports the idna codec.
        name = host.encode() if host.isascii() else host
        tcp = socket.create_connection(
            (name, port),  # type: ignore[arg-type]
            timeout=settings.connect_timeout,
        )
    except socket.gaierror as exc:
        raise WireError(f'could not translate host name "{host}" to address: {_why(exc)}') from exc
    except OSError as exc:
        raise WireError(_why(exc)) from exc
    tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    try:
        return tcp if settings.sslmode == "disable" else _tls(tcp, settings)
    except BaseException:
        tcp.close()
        raise


def _tls(tcp: socket.socket, settings: Settings) -> socket.socket:
    try:
        tcp.sendall(_int(8, 4) + _int(SSL_REQUEST, 4))
        answer = tcp.recv(1)
    except OSError as exc:
        raise WireError(_why(exc)) from exc
    if answer == b"N" and settings.sslmode == "prefer":
        return tcp
    if answer != b"S":
        raise WireError("server does not support SSL, but SSL was required")
    import ssl  # only for a server reached through TLS

    try:
        if settings.sslmode == "prefer":  # encrypted, not verified: libpq's "prefer" too
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        elif settings.sslrootcert == "system":
            context = ssl.create_default_context()
        else:
            context = ssl.create_default_context(cafile=settings.sslrootcert)
        context.check_hostname = settings.sslmode == "verify-full"
        return context.wrap_socket(tcp, server_hostname=settings.host)
    except ssl.SSLCertVerificationError as exc:
        raise WireError(f"SSL error: certificate verify failed: {exc.verify_message}") from exc
    except (ssl.SSLError, OSError) as exc:
        raise WireError(f"SSL error: {_why(exc)}") from exc


def _why(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout expired"
    return str(exc.strerror or exc)


def _parameter(value: object) -> tuple[int, bytes | None]:
    """A parameter's type (as psycopg would send it: 0 lets the server infer) and text."""
    if value is None:
        return 0, None
    if isinstance(value, bool):
        return 16, b"t" if value else b"f"
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        oid = 21 if -(2**15) <= value < 2**15 else 23 if -(2**31) <= value < 2**31 else 20
        return oid, int.__repr__(value).encode()
    if isinstance(value, str) and "\0" not in value:
        return 0, str.encode(value)
    raise Unsupported(f"a parameter of type {type(value).__name__}")


def _timestamp(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode())


# Column types by OID (results in text format), read as psycopg reads them.
DECODERS: dict[int, Callable[[bytes], Any]] = {
    16: lambda raw: raw == b"t",  # bool
    18: bytes.decode, 19: bytes.decode, 25: bytes.decode, 705: bytes.decode,  # char name text
    1042: bytes.decode, 1043: bytes.decode,  # bpchar varchar
    20: int, 21: int, 23: int, 26: int,  # int8 int2 int4 oid
    700: float, 701: float,  # float4 float8
    1114: _timestamp, 1184: _timestamp,  # timestamp, timestamptz (ISO, with its offset)
}  # fmt: skip


def _columns(body: bytes) -> tuple[dict[str, int], list[Callable[[bytes], Any]], Exception | None]:
    count, at = int.from_bytes(body[:2], "big"), 2
    names: dict[str, int] = {}
    decoders: list[Callable[[bytes], Any]] = []
    unknown = None
    for position in range(count):
        end = body.index(b"\0", at)
        names[body[at:end].decode()] = position  # the last of a name, as store/pg.py's rows
        oid = int.from_bytes(body[end + 7 : end + 11], "big")
        decoders.append(DECODERS.get(oid, bytes.decode))
        if oid not in DECODERS:
            unknown = Unsupported(f"the column type {oid}")
        at = end + 19
    return names, decoders, unknown


def _row(body: bytes, decoders: list[Callable[[bytes], Any]]) -> tuple[Any, ...]:
    values, at = [], 2
    for decode in decoders:
        size = int.from_bytes(body[at : at + 4], "big", signed=True)
        at += 4
        values.append(None if size < 0 else decode(body[at : at + size]))
        at += max(size, 0)
    return tuple(values)


def _refusal(body: bytes) -> WireError:
    """The server's refusal of the login, in libpq's words ("FATAL:  …")."""
    fields = _fields(body)
    return WireError(f"{fields.get('V') or fields.get('S')}:  {fields.get('M')}")


def _fields(body: bytes) -> dict[str, str]:
    parts = body.split(b"\0")
    return {part[:1].decode(): part[1:].decode(errors="replace") for part in parts if part}


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + _int(len(body) + 4, 4) + body


def _cstring(text: str) -> bytes:
    return text.encode() + b"\0"


def _int(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big", signed=True)
