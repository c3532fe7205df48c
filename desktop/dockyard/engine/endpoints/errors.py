"""Why a Docker endpoint could not be reached, in one sentence a user can act on.

docker-py and requests wrap the real reason (a TLS alert, a refused connection, what ssh
printed) several exceptions deep; this walks the chain and names the cause.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

CLIENT_CERT_REFUSED = (
    "alert bad certificate",
    "alert unknown ca",
    "alert certificate required",
    "alert certificate unknown",
    "alert decrypt error",
    "alert handshake failure",
)
HOST_KEY_PROBLEMS = (
    "host key verification failed",
    "host key is known for",
    "remote host identification has changed",
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname or url


def _hostport(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return parts.netloc.rsplit("@", 1)[-1] or url


def explain_ssh(url: str, stderr: str) -> str:
    """The reason in what ``ssh`` printed when it gave up."""
    text = stderr.lower()
    host = _host(url)
    if any(p in text for p in HOST_KEY_PROBLEMS):
        return (
            f"the host key of {host} is not in known_hosts (or it changed); check its "
            f"fingerprint with the host's administrator and add it, e.g. by running "
            f"'ssh {host}' once in a terminal"
        )
    if "permission denied" in text:
        return (
            f"{host} refused every SSH key offered; load your key into the agent (ssh-add) "
            "or set the endpoint's identity file (a key without a passphrase)"
        )
    if "connection refused" in text:
        return f"nothing accepts SSH connections at {_hostport(url)} (connection refused)"
    if "timed out" in text:
        return f"{_hostport(url)} did not answer SSH in time; check the address and the network"
    if "could not resolve hostname" in text:
        return f"the host name {host} does not resolve"
    if "docker" in text and ("not found" in text or "unknown command" in text):
        return (
            f"the docker CLI is missing on {host}; it is needed there for "
            "'docker system dial-stdio'"
        )
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "no answer"
    return f"ssh failed: {last}"


def explain(url: str, exc: BaseException, *, ca: str = "", timeout: float = 0) -> str:
    """The cause of ``exc`` for the endpoint at ``url``; no trailing full stop."""
    chain = list(_chain(exc))
    text = " ".join(str(e) for e in chain).lower()
    host = _host(url)
    hostport = _hostport(url)
    verify_failed = any(isinstance(e, _verify_errors()) for e in chain)
    if verify_failed or "certificate_verify_failed" in text:
        if "mismatch" in text or "doesn't match" in text or "not valid for" in text:
            return (
                f"the daemon's certificate is not valid for {host}; connect by a name the "
                f"certificate lists, or give the daemon a certificate whose subjectAltName "
                f"includes {host}"
            )
        where = f" ({ca})" if ca else ""
        return (
            f"the daemon's certificate is not signed by the endpoint's CA{where}; "
            "check the endpoint's --tls-ca"
        )
    for phrase in CLIENT_CERT_REFUSED:
        if phrase in text:
            return (
                f"the daemon refused the client certificate (TLS {phrase}); use a client "
                "certificate signed by the CA the daemon trusts (its --tlscacert)"
            )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in text:
        return f"nothing listens at {hostport} (connection refused); start Docker there"
    timed_out = any(isinstance(e, _TIMEOUTS + _requests_timeout()) for e in chain)
    if timed_out or "timed out" in text:
        within = f" within {timeout:g} s" if timeout else " in time"
        return f"{hostport} did not answer{within}; check the address, the firewall and the network"
    if "no route to host" in text or "network is unreachable" in text:
        return f"there is no network route to {host}"
    if any(isinstance(e, FileNotFoundError) for e in chain) or "no docker socket" in text:
        return f"there is no Docker socket at {hostport}; start Docker"
    if "permission denied" in text:
        return f"no permission to use {hostport}; join the docker group or use another endpoint"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "…"


_TIMEOUTS: tuple[type[BaseException], ...] = (socket.timeout, TimeoutError)


def _requests_timeout() -> tuple[type[BaseException], ...]:
    """requests' Timeout, when requests is loaded (an error can come from it only then;
    importing it to ask would cost ~0.1 s)."""
    exceptions = sys.modules.get("requests.exceptions")
    return (exceptions.Timeout,) if exceptions is not None else ()


def _verify_errors() -> tuple[type[BaseException], ...]:
    """ssl's certificate error, when ssl is loaded (only TLS endpoints load it, and only
    they can fail so; a local socket is read without it)."""
    ssl = sys.modules.get("ssl")
    return (ssl.SSLCertVerificationError,) if ssl is not None else ()
