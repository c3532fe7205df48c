"""A named Docker endpoint as settings hold it (``endpoints`` opens clients to it).

Apart from ``endpoints`` so that the modules it uses (TLS material, Docker contexts) can
name the record without importing the module that imports them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str = ""  # "" for local: resolved from the environment / context
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    ssh_config: str = ""  # an ssh_config file instead of ~/.ssh/config (ssh -F)
    ssh_identity: str = ""  # a private key file (ssh -i); else the agent / ~/.ssh defaults
    ssh_known_hosts: str = ""  # a known_hosts file instead of ~/.ssh/known_hosts
    context: str = ""  # the Docker context it was imported from, if any

    @property
    def display_url(self) -> str:
        return self.url or os.environ.get("DOCKER_HOST", "") or "default context"

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls_cert or self.tls_ca)
