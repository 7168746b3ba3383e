"""Export-pending bundles: a tablet's unacknowledged entries, carried to the server by hand.

After a long outage ``mar-desktop export-pending --out FILE`` writes every entry of this device
(ledger and audit chains) above the seq the server last acknowledged (``acked_ledger`` /
``acked_audit`` in :mod:`storage.sync_state`) into one file, encrypted to the enrolled server
and signed by this device. ``mar-server import-bundle FILE`` (:mod:`sync.server.bundle_import`)
checks and stores them through the same code as an online push. Nothing on the tablet changes
except one ``audit.exported`` entry (appended first, so it travels in the bundle too); the
tablet learns what the server holds at its next online sync, as always (the server's cursor).

Format, version 1 (all integers big-endian)::

    magic       8 bytes   b"MARBNDL1"
    header_len  4 bytes   length of header
    header      canonical JSON (sorted keys, no whitespace), an object with:
                  format 1, bundle_id (UUIDv7), facility_id, device_id, server_id,
                  created_at (UTC ISO), counts {"ledger": n, "audit": m},
                  epk (hex, 32-byte ephemeral X25519 public key), nonce (hex, 12 bytes)
    ciphertext  AES-256-GCM(key, nonce, plaintext, aad = magic || header_len || header),
                including the 16-byte tag
    sig         64 bytes  Ed25519 signature by the DEVICE key over
                          b"mar-desktop bundle v1" || 0x00 || every byte before sig

    plaintext = canonical JSON {"entries": [entry, ...]}: each entry's canonical JSON text
                (the online push form), the ledger chain in seq order, then the audit chain.
    key       = HKDF-SHA256(ikm = X25519(ephemeral private, server X25519 public),
                            salt = epk || server X25519 public,
                            info = b"mar-desktop bundle v1 aes-256-gcm", length = 32)

The server's X25519 key is its Ed25519 signing key (the one the tablet got at enrolment) mapped
to Montgomery form, as libsodium's ``crypto_sign_ed25519_pk_to_curve25519`` and age's ssh-ed25519
recipients do: public u = (1 + y) / (1 - y) mod 2^255 - 19; private scalar = the first 32 bytes
of SHA-512(Ed25519 seed). So enrolment needs no new key and the server needs no new secret; the
two uses are separated by HKDF's info string and the signature domain.

Checks on import, in this order, before anything is stored: magic/version and canonical header;
header facility = the facility being imported into; header server_id = this server; device
known, of that facility, not revoked; signature valid for that device's registered key (so a
change to ANY byte is refused); decryption (GCM tag) succeeds; the entry count matches the
header. Then the entries go through the online push path (:func:`sync.server.ingest.push`):
signatures, chain continuity, gaps, forks, idempotence.

Threads: any; the functions here do blocking file and database I/O. Keys and entries never
appear in logs or messages. Raises :class:`BundleError` (a ``ValidationError``).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mar_desktop import audit
from mar_desktop.canonical import canonical_bytes
from mar_desktop.clock import Clock, SystemClock, utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR, Chain, new_id
from mar_desktop.errors import MarError, SyncError, ValidationError
from mar_desktop.signing import DeviceSigner, load_public_key, signature_valid
from storage.database import Connection
from storage.ledger import load_identity
from storage.sync_state import SyncState, acked_cursor
from sync import protocol as p

MAGIC = b"MARBNDL1"
FORMAT = 1
SIG_DOMAIN = b"mar-desktop bundle v1"
HKDF_INFO = b"mar-desktop bundle v1 aes-256-gcm"
SIG_BYTES = 64
TAG_BYTES = 16
NONCE_BYTES = 12
MAX_HEADER = 64 * 1024
CHAINS: tuple[Chain, ...] = ("ledger", "audit")
_READ_BATCH = 2000
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_HEADER_KEYS = frozenset(
    {
        "format",
        "bundle_id",
        "facility_id",
        "device_id",
        "server_id",
        "created_at",
        "counts",
        "epk",
        "nonce",
    }
)


class BundleError(ValidationError):
    """The bundle is not one this server may take in (damaged, tampered, foreign, ...)."""


# ---- key conversion -----------------------------------------------------------------------------
def x25519_public_from_ed25519(public: bytes) -> bytes:
    """The X25519 (Montgomery u) form of an Ed25519 public key. BundleError if not a point."""
    if len(public) != 32:
        raise BundleError("the server key is not an Ed25519 public key")
    y = int.from_bytes(public, "little") & ((1 << 255) - 1)
    if y >= _P or (1 - y) % _P == 0:
        raise BundleError("the server key is not a usable Ed25519 public key")
    y2 = y * y % _P
    x2 = (y2 - 1) * pow(_D * y2 + 1, _P - 2, _P) % _P
    if x2 != 0 and pow(x2, (_P - 1) // 2, _P) != 1:  # no x: not on the curve
        raise BundleError("the server key is not a usable Ed25519 public key")
    u = (1 + y) * pow((1 - y) % _P, _P - 2, _P) % _P
    return u.to_bytes(32, "little")


def x25519_private_from_ed25519(signer: DeviceSigner) -> X25519PrivateKey:
    """The X25519 private key matching :func:`x25519_public_from_ed25519` of the signer."""
    scalar = hashlib.sha512(signer.private_bytes()).digest()[:32]
    return X25519PrivateKey.from_private_bytes(scalar)  # clamped by X25519 itself


def _bundle_key(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=HKDF_INFO)
    return hkdf.derive(shared)


def _raw_x25519(key: X25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# ---- sealing and opening ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BundleHeader:
    bundle_id: str
    facility_id: str
    device_id: str
    server_id: str
    created_at: str
    counts: dict[str, int]
    epk: str
    nonce: str

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "bundle_id": self.bundle_id,
            "facility_id": self.facility_id,
            "device_id": self.device_id,
            "server_id": self.server_id,
            "created_at": self.created_at,
            "counts": dict(self.counts),
            "epk": self.epk,
            "nonce": self.nonce,
        }


def seal(
    entries: dict[Chain, list[bytes]],
    *,
    facility_id: str,
    device_id: str,
    signer: DeviceSigner,
    server_id: str,
    server_public_key: str,
    created_at: str,
    bundle_id: str | None = None,
) -> bytes:
    """The bundle bytes for ``entries`` (raw canonical entries per chain, in seq order)."""
    recipient = x25519_public_from_ed25519(bytes.fromhex(server_public_key))
    ephemeral = X25519PrivateKey.generate()
    epk = _raw_x25519(ephemeral.public_key())
    key = _bundle_key(
        ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient)), epk, recipient
    )
    nonce = os.urandom(NONCE_BYTES)
    header = BundleHeader(
        bundle_id=bundle_id or new_id(),
        facility_id=facility_id,
        device_id=device_id,
        server_id=server_id,
        created_at=created_at,
        counts={chain: len(entries.get(chain, [])) for chain in CHAINS},
        epk=epk.hex(),
        nonce=nonce.hex(),
    )
    header_bytes = canonical_bytes(header.as_json())
    prefix = MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes
    texts = [p.encode_entry(raw) for chain in CHAINS for raw in entries.get(chain, [])]
    plaintext = canonical_bytes({"entries": texts})
    body = prefix + AESGCM(key).encrypt(nonce, plaintext, prefix)
    return body + signer.sign(SIG_DOMAIN + b"\x00" + body)


@dataclass(frozen=True, slots=True)
class SignedBundle:
    """A bundle whose framing and header were read; nothing verified yet but the shape."""

    header: BundleHeader
    body: bytes  # everything the signature covers
    sig: bytes

    def verify(self, device_public_key: str) -> None:
        """BundleError unless signed by the device key (hex) given."""
        try:
            public = load_public_key(device_public_key)
        except (ValueError, MarError):
            raise BundleError("the device's registered key is not usable") from None
        if not signature_valid(public, self.sig, SIG_DOMAIN + b"\x00" + self.body):
            raise BundleError(
                "the bundle's signature does not verify: it was changed or damaged after the "
                "tablet wrote it; nothing was imported"
            )

    def decrypt(self, server: DeviceSigner) -> list[bytes]:
        """The entries (raw bytes), after :meth:`verify`. BundleError if it cannot decrypt."""
        private = x25519_private_from_ed25519(server)
        recipient = _raw_x25519(private.public_key())
        epk = bytes.fromhex(self.header.epk)
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(epk))
        except ValueError:
            raise BundleError("the bundle's ephemeral key is not valid") from None
        key = _bundle_key(shared, epk, recipient)
        header_len = struct.unpack(">I", self.body[8:12])[0]
        prefix = self.body[: 12 + header_len]
        try:
            plaintext = AESGCM(key).decrypt(
                bytes.fromhex(self.header.nonce), self.body[len(prefix) :], prefix
            )
        except InvalidTag:
            raise BundleError(
                "the bundle cannot be decrypted by this server (made for another server, or "
                "damaged); nothing was imported"
            ) from None
        try:
            texts = json.loads(plaintext)["entries"]
            raws = [p.decode_entry(t) for t in texts]
        except (ValueError, KeyError, TypeError):
            raise BundleError("the bundle's contents are not well formed") from None
        if len(raws) != sum(self.header.counts.values()):
            raise BundleError("the bundle holds a different number of entries than it says")
        return raws


def read_bundle(data: bytes) -> SignedBundle:
    """Splits a bundle into header, signed body and signature. BundleError if malformed."""
    if len(data) < len(MAGIC) + 4 + SIG_BYTES + TAG_BYTES or not data.startswith(MAGIC):
        raise BundleError("this file is not an MAR Desktop export-pending bundle")
    (header_len,) = struct.unpack(">I", data[8:12])
    if header_len > MAX_HEADER or 12 + header_len + TAG_BYTES + SIG_BYTES > len(data):
        raise BundleError("the bundle is damaged (bad header length)")
    header_bytes = data[12 : 12 + header_len]
    try:
        raw_header = json.loads(header_bytes)
        if not isinstance(raw_header, dict) or canonical_bytes(raw_header) != header_bytes:
            raise ValueError("not canonical")
        if set(raw_header) != _HEADER_KEYS or raw_header["format"] != FORMAT:
            raise ValueError("unknown header")
        counts = raw_header["counts"]
        header = BundleHeader(
            bundle_id=str(raw_header["bundle_id"]),
            facility_id=str(raw_header["facility_id"]),
            device_id=str(raw_header["device_id"]),
            server_id=str(raw_header["server_id"]),
            created_at=str(raw_header["created_at"]),
            counts={c: int(counts[c]) for c in CHAINS},
            epk=str(raw_header["epk"]),
            nonce=str(raw_header["nonce"]),
        )
        if len(bytes.fromhex(header.epk)) != 32 or len(bytes.fromhex(header.nonce)) != 12:
            raise ValueError("bad key or nonce")
        if set(counts) != set(CHAINS) or min(header.counts.values()) < 0:
            raise ValueError("bad counts")
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise BundleError("the bundle's header is damaged or of an unknown version") from None
    return SignedBundle(header, data[:-SIG_BYTES], data[-SIG_BYTES:])


# ---- the tablet side ----------------------------------------------------------------------------
class _Store(Protocol):
    """What :func:`export_pending` needs (``storage.local_store.LocalStore``)."""

    @property
    def ledger(self) -> Any: ...

    def connect_reader(self) -> Connection: ...


@dataclass(frozen=True, slots=True)
class ExportResult:
    bundle_id: str
    ledger_entries: int
    audit_entries: int
    path: Path


def pending_entries(state: SyncState, device_id: str) -> dict[Chain, list[bytes]]:
    """This device's entries above the server-acknowledged seq of each chain, in seq order."""
    out: dict[Chain, list[bytes]] = {}
    for chain in CHAINS:
        after, _ = state.cursor(acked_cursor(chain))
        rows: list[bytes] = []
        while True:
            batch = state.own_entries_after(device_id, chain, after, _READ_BATCH)
            rows.extend(raw for _, raw in batch)
            if len(batch) < _READ_BATCH:
                break
            after = batch[-1][0]
        out[chain] = rows
    return out


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_pending(store: _Store, out: Path, clock: Clock | None = None) -> ExportResult | None:
    """Writes the bundle of this tablet's unacknowledged entries to ``out`` (mode 0600,
    atomically); ``None`` (and no file) when nothing is waiting. Appends one
    ``audit.exported`` entry first, which travels in the bundle. Raises ``SyncError`` when the
    tablet is not enrolled, ``StorageError`` for database trouble, ``OSError`` for the file."""
    clock = clock or SystemClock()
    conn = store.connect_reader()
    state = SyncState(lambda: conn, clock)
    try:
        identity = load_identity(conn)
        server = state.server()
        if server is None:
            raise SyncError("This tablet is not enrolled with a server; there is nothing to send.")
        waiting = sum(
            state.count_after(identity.device_id, c, state.cursor(acked_cursor(c))[0])
            for c in CHAINS
        )
        if waiting == 0:
            return None
        bundle_id = new_id()
        store.ledger.append(
            [
                audit.audit_draft(
                    audit.EXPORTED,
                    actor=SYSTEM_ACTOR,
                    user_name="mar-desktop export-pending",
                    entity_type="sync_bundle",
                    entity_id=bundle_id,
                    detail=f"{waiting} unsynced entries exported for manual import by the server",
                )
            ]
        )
        entries = pending_entries(state, identity.device_id)
        data = seal(
            entries,
            facility_id=identity.facility_id,
            device_id=identity.device_id,
            signer=identity.signer,
            server_id=server.server_id,
            server_public_key=server.server_public_key,
            created_at=utc_iso(clock.now().astimezone(UTC)),
            bundle_id=bundle_id,
        )
    finally:
        conn.close()
    _write_atomically(out, data)
    return ExportResult(bundle_id, len(entries["ledger"]), len(entries["audit"]), out)
