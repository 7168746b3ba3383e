"""Tamper evidence: checking one entry against its device key and its place in the chain.

Pure functions, safe on any thread or process. Storage and the server walk their rows through
:func:`check_link`; the first failure is reported as a :class:`ChainFailure` that names the entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from mar_desktop.canonical import canonical_bytes
from mar_desktop.envelope import GENESIS, Chain, parse_raw, signed_part
from mar_desktop.signing import PublicKey, signature_valid


@dataclass(frozen=True, slots=True)
class ChainFailure:
    """The first entry of a chain that fails, and why (a short, PHI-free phrase)."""

    device_id: str
    chain: Chain
    seq: int
    entry_id: str
    reason: str

    def describe(self) -> str:
        return (
            f"{self.chain} chain of device {self.device_id}: entry seq {self.seq} "
            f"(id {self.entry_id}) {self.reason}"
        )


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of verifying one or more chains."""

    entries: int
    chains: int
    failure: ChainFailure | None
    partial: str | None = None
    """Set when the chains held are not yet whole (a tablet still fetching its history after
    starting from a server snapshot): what is missing, in plain words. Every entry held was
    still checked."""
    windowed: str | None = None
    """Set when the chains held start at the tablet's history window rather than at seq 1
    (complete within it): where they start, in plain words."""

    @property
    def ok(self) -> bool:
        return self.failure is None

    def summary(self) -> str:
        if self.failure is not None:
            return f"FAILED: {self.failure.describe()}"
        if self.partial is not None:
            return (
                f"PARTIAL: {self.entries} entries in {self.chains} chains verified, but the "
                f"chains are not complete yet: {self.partial}"
            )
        text = f"OK: {self.entries} entries in {self.chains} chains verified"
        if self.windowed is not None:
            text += f" ({self.windowed})"
        return text


def check_signature(raw: bytes, public: PublicKey) -> bool:
    """True if the entry's signature verifies. Raises ``ValueError`` for unparseable bytes."""
    cut = raw.rfind(b',"sig":"')
    if cut < 0:
        return False
    sig_hex = raw[cut + 8 : -2]
    try:
        sig = bytes.fromhex(sig_hex.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return False
    return signature_valid(public, sig, signed_part(raw))


class Linked(Protocol):
    """What :func:`check_link` reads: an :class:`Entry`, or a summary of one (e.g. sync's
    planned entries) with the same fields."""

    @property
    def device_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def chain(self) -> Chain: ...
    @property
    def seq(self) -> int: ...
    @property
    def prev(self) -> str: ...


def check_link(
    entry: Linked,
    *,
    expected_seq: int,
    expected_prev: str,
    device_id: str,
    chain: Chain,
) -> str | None:
    """Returns why ``entry`` does not continue the chain, or ``None`` if it does.

    The signature is checked separately (:func:`check_signature`) so it can run in parallel.
    """
    if entry.device_id != device_id:
        return f"belongs to device {entry.device_id}"
    if entry.chain != chain:
        return f"kind {entry.kind!r} belongs to the {entry.chain} chain"
    if entry.seq != expected_seq:
        if entry.seq > expected_seq:
            return f"follows a gap: expected seq {expected_seq}"
        return f"repeats or reorders: expected seq {expected_seq}"
    if entry.prev != expected_prev:
        return "does not link to the previous entry (prev hash mismatch)"
    return None


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def first_prev() -> str:
    return GENESIS


__all__ = [
    "ChainFailure",
    "ChainReport",
    "check_link",
    "check_signature",
    "digest",
    "first_prev",
    "parse_raw",
]


SNAPSHOT_DOMAIN = b"mar-desktop/sync/v1/snapshot"


def snapshot_message(fields: dict[str, Any]) -> bytes:
    """Domain-separated canonical bytes of a server's snapshot manifest (all fields but
    ``sig``), as the server signs them (``sync.protocol.SnapshotManifest``)."""
    return SNAPSHOT_DOMAIN + b"\x00" + canonical_bytes(fields)
