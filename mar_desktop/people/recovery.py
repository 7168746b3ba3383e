"""Single-use recovery codes for when the authenticator app is lost.

Ten codes per enrolment, shown once. Each is ``XXXX-XXXX-XXXX-XXXX`` from Crockford's base32
alphabet (no I, L, O, U; typing O for 0 or I/L for 1 is forgiven, case and dashes ignored):
16 symbols × 5 bits = 80 bits from the OS CSPRNG.

Stored hashed as SHA-256 over a domain-separation tag, the user id and the normalised code.
A slow hash (Argon2) is not needed here and would cost: an Argon2 hash protects *low*-entropy
secrets from guessing; with 80 bits of uniform entropy an offline search needs ~2^79 SHA-256
evaluations per code (centuries of GPU time), while checking a code against ten Argon2 hashes
would take ~1.5 s at the login budget's parameters. The user id in the input stops one
precomputed table from serving every account. Pure and thread-safe.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 4
GROUP_LEN = 4
COUNT = 10
_TAG = b"mar-desktop recovery code v1\x00"
_FORGIVE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def generate(count: int = COUNT) -> list[str]:
    """``count`` fresh distinct codes, formatted for display."""
    codes: set[str] = set()
    while len(codes) < count:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LEN))
        codes.add("-".join(raw[i : i + GROUP_LEN] for i in range(0, len(raw), GROUP_LEN)))
    return sorted(codes)


def normalise(code: str) -> str | None:
    """The 16 canonical symbols of a typed code, or None when it cannot be one."""
    cleaned = "".join(ch for ch in code.upper() if ch not in "- \t").translate(_FORGIVE)
    if len(cleaned) != GROUPS * GROUP_LEN or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def hash_code(user_id: str, code: str) -> str:
    """Hex SHA-256 of a code for ``user_id``. Raises ValueError on a malformed code."""
    symbols = normalise(code)
    if symbols is None:
        raise ValueError("not a recovery code")
    data = _TAG + user_id.encode("utf-8") + b"\x00" + symbols.encode("ascii")
    return hashlib.sha256(data).hexdigest()


def match(user_id: str, code: str, stored_hashes: Sequence[str]) -> int | None:
    """Index of the stored hash ``code`` matches (comparing against all, in constant time
    each), or None."""
    symbols = normalise(code)
    if symbols is None:
        return None
    candidate = hash_code(user_id, symbols)
    found: int | None = None
    for index, stored in enumerate(stored_hashes):
        if hmac.compare_digest(candidate, stored):
            found = index
    return found
