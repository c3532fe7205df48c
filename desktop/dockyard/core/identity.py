"""How a policy tells whether two identities are the same person.

Identities are typed by people (``DOCKYARD_USER``, git's ``user.email``, the window's
Settings), so ``DEV@example.org `` and ``dev@example.org`` must be one person: otherwise
the four-eyes rule is walked around by changing case. Every comparison of people goes
through ``identity_key``: trimmed, Unicode-normalised (NFKC, so look-alike compatibility
forms fold together) and case-folded. Folding too much can only make a policy stricter
(two names taken for one person), never let someone approve their own release.
"""

from __future__ import annotations

import unicodedata


def identity_key(name: str) -> str:
    """The form of ``name`` that comparisons of people use."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def same_person(a: str, b: str) -> bool:
    return identity_key(a) == identity_key(b)
