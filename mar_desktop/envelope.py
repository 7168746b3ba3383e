"""The ledger entry envelope (docs/architecture.md#the-ledger): construction, canonical bytes,
signature, chain hash.

An entry's *signed bytes* are the canonical JSON of every field except ``sig``; its *raw bytes*
are the canonical JSON of all fields. Because ``sig`` sorts last among the keys, the raw bytes are
the signed bytes with ``,"sig":"<hex>"`` spliced in before the closing brace, which lets
verification avoid re-encoding. ``prev`` is the SHA-256 (hex) of the previous entry's raw bytes
on the same device and chain; the first entry's ``prev`` is :data:`GENESIS`.

The ledger chain holds clinical and reference entries; the audit chain holds entries whose kind
starts with ``audit.``. Each device keeps one of each, each with its own gapless ``seq``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from uuid6 import uuid7

from mar_desktop.canonical import canonical_bytes, encode_decoded, loads
from mar_desktop.clock import utc_iso
from mar_desktop.signing import DeviceSigner

GENESIS = "0" * 64
AUDIT_PREFIX = "audit."
Chain = Literal["ledger", "audit"]
_SIG_MARK = b',"sig":"'
_FIELDS = frozenset(
    {"id", "facility_id", "device_id", "seq", "prev", "recorded_at", "kind", "actor", "body", "sig"}
)


def chain_of(kind: str) -> Chain:
    """Which of a device's two chains an entry of ``kind`` belongs to."""
    return "audit" if kind.startswith(AUDIT_PREFIX) else "ledger"


def new_id() -> str:
    """A fresh UUIDv7 as a lowercase hyphenated string (time-ordered)."""
    return str(uuid7())


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, and in which role at that moment."""

    user_id: str
    role: str

    def as_json(self) -> dict[str, str]:
        return {"role": self.role, "user_id": self.user_id}


SYSTEM_ACTOR = Actor(user_id="system", role="system")


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """What a service wants recorded; the storage layer seals it into the chain.

    ``model``: the validated, frozen body model that ``body`` is the JSON form of, when the
    draft was made from one by :func:`mar_desktop.kinds.draft` (storage then skips validating
    ``body`` a second time). Set it nowhere else; leave it None for a plain dict body.
    """

    kind: str
    actor: Actor
    body: dict[str, Any]
    entry_id: str | None = None
    model: object | None = field(default=None, compare=False, repr=False)

    @property
    def chain(self) -> Chain:
        return chain_of(self.kind)


@dataclass(frozen=True, slots=True)
class Entry:
    """A sealed, signed entry. Immutable; build with :func:`seal` or :func:`parse_raw`."""

    id: str
    facility_id: str
    device_id: str
    seq: int
    prev: str
    recorded_at: str
    kind: str
    actor: dict[str, str]
    body: dict[str, Any]
    sig: str
    raw: bytes

    @property
    def chain(self) -> Chain:
        return chain_of(self.kind)

    @property
    def digest(self) -> str:
        """SHA-256 hex of the raw bytes: the next entry's ``prev``."""
        return hashlib.sha256(self.raw).hexdigest()

    def signed_bytes(self) -> bytes:
        return signed_part(self.raw)


def signed_part(raw: bytes) -> bytes:
    """The bytes the signature covers, cut from an entry's raw bytes."""
    cut = raw.rfind(_SIG_MARK)
    if cut < 0:
        raise ValueError("entry has no signature")
    return raw[:cut] + b"}"


def seal(
    draft: EntryDraft,
    *,
    facility_id: str,
    device_id: str,
    seq: int,
    prev: str,
    recorded_at: datetime,
    signer: DeviceSigner,
) -> Entry:
    """Numbers, links and signs ``draft``. Pure: writes nothing. Raises ``TypeError`` on floats."""
    payload: dict[str, Any] = {
        "actor": draft.actor.as_json(),
        "body": draft.body,
        "device_id": device_id,
        "facility_id": facility_id,
        "id": draft.entry_id or new_id(),
        "kind": draft.kind,
        "prev": prev,
        "recorded_at": utc_iso(recorded_at),
        "seq": seq,
    }
    signed = canonical_bytes(payload)
    sig = signer.sign(signed).hex()
    raw = signed[:-1] + _SIG_MARK + sig.encode("ascii") + b'"}'
    return Entry(
        id=payload["id"],
        facility_id=facility_id,
        device_id=device_id,
        seq=seq,
        prev=prev,
        recorded_at=payload["recorded_at"],
        kind=draft.kind,
        actor=payload["actor"],
        body=draft.body,
        sig=sig,
        raw=raw,
    )


def parse_raw(raw: bytes, *, known_canonical: bool = False) -> Entry:
    """Decodes raw entry bytes. Raises ``ValueError`` if they are not a canonical envelope.

    Does not check the signature or the chain; see :mod:`mar_desktop.chain`.
    ``known_canonical=True`` skips re-encoding to prove the bytes canonical (the costliest
    step) and is ONLY for bytes that ``parse_raw`` already accepted elsewhere (e.g. in a
    verifier process); every other check still runs.
    """
    data = loads(raw)
    if not isinstance(data, dict) or set(data) != _FIELDS:
        raise ValueError("not an entry envelope (fields missing or extra)")
    if not known_canonical and encode_decoded(data) != raw:
        raise ValueError("entry bytes are not canonical")
    seq = data["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError("seq must be a positive integer")
    for name in ("id", "facility_id", "device_id", "prev", "recorded_at", "kind", "sig"):
        if not isinstance(data[name], str):
            raise ValueError(f"{name} must be a string")
    if not isinstance(data["actor"], dict) or not isinstance(data["body"], dict):
        raise ValueError("actor and body must be objects")
    return Entry(
        id=data["id"],
        facility_id=data["facility_id"],
        device_id=data["device_id"],
        seq=seq,
        prev=data["prev"],
        recorded_at=data["recorded_at"],
        kind=data["kind"],
        actor=data["actor"],
        body=data["body"],
        sig=data["sig"],
        raw=raw,
    )
