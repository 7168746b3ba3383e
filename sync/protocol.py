"""The sync wire protocol (version 1), shared by the tablet's sync engine and ``mar-server``.

Transport: HTTPS only (TLS 1.3 minimum), JSON bodies, every path under ``/v1``. The server
publishes the same contract as OpenAPI at ``/openapi.json``. Errors are JSON ``{"detail": ...}``
with a 4xx status and a plain-words reason; nothing is stored by a refused request except the
valid entries before a bad one in a push (see below).

Enrolment (once per tablet)
    ``POST /v1/enroll`` :class:`EnrollRequest` → :class:`EnrollResponse`. The admin makes a
    one-time code with ``mar-server enroll-code`` (single use, expires after 24 h by default);
    the tablet generates its Ed25519 key pair and sends only the public key. Keep
    ``server_public_key`` (verifies receipts and the server's own entries) and ``server_id``.

Authentication (every sync)
    ``POST /v1/auth/challenge`` :class:`ChallengeRequest` → :class:`ChallengeResponse` (a nonce,
    single use, valid ``expires_in`` seconds); ``POST /v1/auth/token`` :class:`TokenRequest`
    with ``signature = Ed25519(device key, auth_message(server_id, device_id, nonce))`` →
    :class:`TokenResponse`. Send ``Authorization: Bearer <token>`` on every other call. The token
    is short-lived (10 min), kept in memory on the tablet and only as a SHA-256 digest in the
    server's database (any server process accepts it). 401: bad/expired token, nonce
    or signature; 403 ``"device revoked"``: the device may no longer sync.

Revocation (lost and retired tablets)
    An admin revokes a tablet as ``lost`` (refused from that moment, every request 403) or
    ``retire`` (it may still read its cursor, push, relay and put credentials — everything else
    is 403 ``"device revoked (retiring)"``). Every such 403 body carries ``revocation``: the
    ``device.revoked`` entry of the server device (raw canonical JSON text), which the tablet
    checks against the server key it kept at enrolment before it obeys: it signs everyone out,
    pushes what it holds (retire), then erases its database key. A retiring tablet that has
    everything acknowledged confirms with ``POST /v1/retire`` :class:`RetireRequest` (its chain
    heads) → :class:`RetireResult`; 409 when the server does not hold exactly those heads. From
    then on it is refused like a lost one. A 403 without ``revocation`` (a device revoked by an
    older server) is obeyed as "cannot sync", nothing is erased.

Push (device → server)
    First ``GET /v1/cursor`` → :class:`CursorResponse`: the highest contiguous ``seq`` (and its
    digest) the server holds for each of the device's two chains. A server restored from a backup
    reports a lower cursor; re-send everything above it (and, when it is lower than what the
    server had acknowledged before, every credential version made on the tablet: the server
    lost those too). Then ``POST /v1/push``
    :class:`PushRequest` with entries in ``seq`` order (ledger and audit may be mixed; only the
    authenticated device's own entries). Each entry is its raw canonical bytes, sent either as
    the canonical JSON text itself (a string starting with ``{``) or as standard base64.

    The answer is always a :class:`Receipt` signed by the server key (verify with
    :func:`verify_receipt`): the chain heads after the push and one :class:`Rejection` per entry
    not stored. Status 200: every entry stored or already held (an identical re-send is
    acknowledged again). 409: at least one entry is a **fork** (the server holds different bytes
    for that ``seq``, or it does not link to the held entry) — the server raised an alert; do not
    retry it. 422: other rejections (bad signature, invalid body, gap…) — quarantine the
    rejected entry with the reason. An entry of a kind only the server records
    (``facility.configured``, ``device.enrolled``, ``device.revoked``, ``alert.raised``) is
    refused as
    ``invalid_body``. Valid entries before a rejected one are stored; entries of the same chain
    after it are rejected as ``gap``.

The server's own chain (after a restore)
    What the server records itself (``device.enrolled``, ``alert.raised``, the first admin's
    ``user.created``) exists only in its database and, as pulled copies, on the tablets. A server
    restored from an older backup cannot know on its own that it lost the tail of its own chain,
    and its next entry would reuse a ``seq`` the tablets hold with other bytes. So the cursor
    answer also carries ``server``, the server device's ledger head, and right after it — BEFORE
    pushing its own entries, whose reconciliation may make the server write — the tablet returns
    the server entries it holds above that head: ``POST /v1/relay`` :class:`PushRequest` →
    :class:`RelayResult`. The server checks them like a push (its own key, body, ``seq``/``prev``
    continuing its chain; all-or-nothing), stores them at new feed positions and re-registers a
    device whose ``device.enrolled`` it took back. 409: the server already holds different bytes
    there (it wrote before any tablet returned the lost entry): the tablet carries on with its
    own sync, and its pull holds the server's differing entries back as ``fork`` (never applied,
    visible in the quarantine). Skip the relay when the server's digest at its head differs from
    the tablet's copy. Residual window, stated plainly: an entry the server writes after the
    restart but before the first tablet that holds the lost tail has synced (an enrolment, or
    an alert on another tablet's push) collides as above — after a restore, let the tablets
    sync before enrolling new ones. A returned ``device.revoked`` revokes its device again
    (revocations made before they were entries must be repeated after a restore).

Pull (server → device)
    ``GET /v1/feed?after=N&limit=M`` → :class:`FeedPage`: the facility's **ledger**-chain entries
    of all devices (the server's own included) with their facility-global position, in order.
    Resume with ``after = next``. ``GET /v1/audit/feed`` is the same for audit entries (for the
    admin's audit viewer, on demand). ``GET /v1/devices`` → :class:`DevicesResponse`: device
    public keys (a revoked device's past entries stay valid). ``GET /v1/alerts`` →
    :class:`AlertsResponse`: ``alert.raised`` entries signed by the server device. The server
    reconciles a push (clinical alerts) just after sending its receipt; a cursor, feed or
    alerts read made after a receipt waits for that, so it always sees the push's alerts.

Snapshot and history (a new tablet ready in seconds; docs/architecture.md#a-new-tablet)
    ``GET /v1/snapshot`` → :class:`Snapshot`: a :class:`SnapshotManifest` signed by the server
    key the tablet pinned at enrolment (verify with :func:`verify_manifest`) and the facility's
    current-state entries at or before ``manifest.tail_after`` (every ledger entry of a kind in
    :data:`STATE_KINDS`: facility, units, residents, orders, people, devices, alerts), each in
    its raw signed form. The manifest is a checkpoint: for every device, its ledger head at
    ``checkpoint`` and its ``anchor``, the last entry at or before ``tail_after``. The tablet
    checks every entry's signature, that the entries are exactly those the manifest counts and
    digests, then reads the feed after ``tail_after`` as usual: each device's chain continues
    from its anchor, and passes through its checkpoint head. ``GET /v1/history?before=B&limit=M``
    → :class:`FeedPage` of the ledger feed DESCENDING from ``B - 1`` (``next`` is the lowest
    position returned): the tablet fills in history down to ``history_from`` in the background,
    proving each entry by the hash chain down from the anchors. ``POST /v1/snapshot/mismatch``
    :class:`SnapshotMismatch` → 204: the tablet found, once its history was complete, that the
    chains say something the snapshot did not; the server raises a ``snapshot_mismatch`` alert.
    An older server answers 404 to all three: the tablet then reads the whole feed, as before.

Credentials (people records)
    ``PUT /v1/credentials/{user_id}`` :class:`CredentialPut` → :class:`CredentialStored`;
    ``GET /v1/credentials?after=N`` → :class:`CredentialPage`. Records versioned per user:
    versions are kept and never edited. A put record is a closed, signed
    :class:`~mar_desktop.people.statements.AccountRecord` whose ``user_id`` and ``version`` are
    the path's and the body's (422 otherwise; an older tablet's unsigned record: 422). The
    server checks it like every tablet does (``mar_desktop.people.authority.check_next``: it
    follows the user's highest version, signed by the user for a self change, by an active
    facility admin's own key for an admin change) and co-signs an admin change; a record that
    does not verify is refused with 403, nothing stored, and raises a ``credential_refused``
    alert. Re-sending a stored version with the same content is acknowledged; with a different
    one it is refused (409). Pull the feed to get the co-signed copy. A tablet verifies every
    record it pulls the same way and reports one that does not verify with
    ``POST /v1/credentials/refused`` :class:`CredentialRefusedReport` (204); the server raises
    the alert. A page holds only records
    of a known shape: a stored row that is not (stored before the shapes were closed) is left
    out, and ``next`` still moves past it.

Shapes
    Every request body is closed (unknown fields: 422) and typed without coercion. Integers fit
    64 bits (versions from 1, seqs and positions from 0); strings are bounded and hold no NUL or
    other control character (identifiers, nonces and hashes: visible ASCII). A refused request
    stores nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from mar_desktop.bounds import PRINTABLE_ASCII, PRINTABLE_TEXT, IdText, Version64
from mar_desktop.canonical import canonical_bytes
from mar_desktop.chain import snapshot_message
from mar_desktop.people.statements import AccountRecord
from mar_desktop.signing import load_public_key, signature_valid

PROTOCOL_VERSION = 1
AUTH_DOMAIN = b"mar-desktop/sync/v1/auth"
RECEIPT_DOMAIN = b"mar-desktop/sync/v1/receipt"
MAX_BATCH = 2000
"""Most entries in one push; the body is also limited (4 MiB by default)."""
MAX_PAGE = 1000
"""Most entries in one feed page."""
CLIENT_TIME_HEADER = "X-MAR-Client-Time"
"""Sent with ``GET /v1/cursor``: the tablet's clock (UTC ISO 8601). The server compares it with
its own and alerts on a clock more than the facility's ``clock_skew_alert_seconds`` off either
way. Optional (older tablets do not send it)."""
SERVER_TIME_HEADER = "X-MAR-Server-Time"
"""Answered with ``GET /v1/cursor``: the server's clock (UTC ISO 8601), which the tablet
compares with its own to warn while it is off. A tablet falls back to the HTTP ``Date`` header
when an older server does not send it."""

APP_VERSION_HEADER = "X-MAR-App-Version"
"""Sent with every request: the tablet's app version (``mar_desktop.__version__``). A server
answers 426 with :class:`TabletTooOld` to a version older than the oldest it accepts; a request
without the header is taken for ``mar_desktop.versions.UNNAMED_TABLET`` (older releases)."""


class TabletTooOld(BaseModel):
    """The 426 answer: the tablet's app is older than the server accepts."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    detail: str
    oldest_accepted: str


Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""32 bytes as lowercase hex (Ed25519 public keys, SHA-256 digests)."""
Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{128}$")]
"""64 bytes as lowercase hex (Ed25519 signatures)."""
DeviceId = IdText
"""A device id as a request names it: 1–64 visible ASCII characters."""
ChainName = Literal["ledger", "audit"]
MAX_LABEL = 100
"""Longest enrolment label (a tablet's name for people, e.g. "Cart 2 — East wing")."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---- enrolment and authentication ------------------------------------------------------------
class EnrollRequest(_Model):
    code: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[\x20-\x7e]+$")]
    """As typed: the groups may be separated by ``-`` or spaces, any letter case."""
    public_key: Hex32
    label: Annotated[StrictStr, Field(max_length=MAX_LABEL, pattern=PRINTABLE_TEXT)] = ""
    """Any text without control characters."""


class EnrollResponse(_Model):
    device_id: str
    facility_id: str
    server_id: str
    server_device_id: str
    server_public_key: Hex32


class ChallengeRequest(_Model):
    device_id: DeviceId


class ChallengeResponse(_Model):
    nonce: Annotated[str, Field(min_length=16, max_length=128)]
    server_id: str
    expires_in: int


class TokenRequest(_Model):
    device_id: DeviceId
    nonce: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=PRINTABLE_ASCII)]
    signature: Hex64


class TokenResponse(_Model):
    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


def auth_message(server_id: str, device_id: str, nonce: str) -> bytes:
    """What the device signs to get a token: domain, server, device and nonce, NUL-separated.

    Binding the server id stops a signature made for one server from being replayed to another.
    """
    return b"\x00".join((AUTH_DOMAIN, server_id.encode(), device_id.encode(), nonce.encode()))


# ---- push -------------------------------------------------------------------------------------
class ChainHead(_Model):
    """The highest contiguous ``seq`` held for one chain (0: none) and that entry's SHA-256."""

    seq: Annotated[int, Field(ge=0)]
    digest: str


class RetireRequest(_Model):
    """A retiring tablet's chain heads: everything it ever recorded, all acknowledged."""

    ledger: Annotated[int, Field(ge=0, le=2**63 - 1)]
    audit: Annotated[int, Field(ge=0, le=2**63 - 1)]


class RetireResult(_Model):
    device_id: str
    retired_at: str


class CursorResponse(_Model):
    device_id: str
    ledger: ChainHead
    audit: ChainHead
    server: ChainHead | None = None
    """The facility's server device's own ledger head (see "The server's own chain")."""


class PushRequest(_Model):
    entries: Annotated[
        list[Annotated[str, Field(min_length=2, max_length=1_000_000)]],
        Field(min_length=1, max_length=MAX_BATCH),
    ]


RejectionCode = Literal[
    "malformed",
    "wrong_device",
    "wrong_facility",
    "invalid_body",
    "bad_signature",
    "gap",
    "fork",
]


class RelayResult(_Model):
    """Answer to ``POST /v1/relay``: server entries newly stored, already held, and the server
    chain's head seq after the call."""

    stored: int
    duplicates: int
    head: int


class Rejection(_Model):
    """Why the entry at ``index`` of the push was not stored. ``seq``/``chain`` when parseable."""

    index: int
    code: RejectionCode
    reason: str
    seq: int | None = None
    chain: ChainName | None = None
    entry_id: str | None = None


class Receipt(_Model):
    """The server's signed acknowledgement of a push (also sent with 409/422)."""

    server_id: str
    device_id: str
    facility_id: str
    issued_at: str
    heads: dict[ChainName, int]
    """Highest contiguous ``seq`` the server holds per chain after this push."""
    stored: int
    """Entries newly stored by this push."""
    duplicates: int
    """Entries already held with identical bytes (acknowledged again)."""
    rejections: list[Rejection]
    sig: Hex64

    def signed_bytes(self) -> bytes:
        return receipt_message(self.model_dump(mode="json", exclude={"sig"}))


def receipt_message(fields: dict[str, Any]) -> bytes:
    """Domain-separated canonical bytes of a receipt's fields (all but ``sig``)."""
    return RECEIPT_DOMAIN + b"\x00" + canonical_bytes(fields)


def verify_receipt(receipt: Receipt, server_public_key: str) -> bool:
    """True if ``receipt`` was signed by the server whose public key (hex) is given."""
    return _server_signed(receipt.sig, receipt.signed_bytes(), server_public_key)


def _server_signed(sig_hex: str, message: bytes, server_public_key: str) -> bool:
    try:
        key = load_public_key(server_public_key)
        sig = bytes.fromhex(sig_hex)
    except ValueError:
        return False
    return signature_valid(key, sig, message)


def encode_entry(raw: bytes) -> str:
    """The push form of an entry: its canonical JSON text."""
    return raw.decode("utf-8")


def decode_entry(text: str) -> bytes:
    """Raw bytes of a pushed entry (JSON text or base64). Raises ``ValueError``."""
    if text.startswith("{"):
        return text.encode("utf-8")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("entry is neither canonical JSON text nor base64") from None


# ---- pull -------------------------------------------------------------------------------------
class FeedItem(_Model):
    pos: int
    """Facility-global position in this feed (ledger and audit feeds are numbered apart)."""
    entry: str
    """The entry's raw canonical JSON text; its bytes are ``entry.encode('utf-8')``."""


class FeedPage(_Model):
    items: list[FeedItem]
    next: int
    """Pass as ``after`` for the next page (equals ``after`` when the page is empty)."""
    more: bool


class DeviceInfo(_Model):
    device_id: str
    public_key: Hex32
    label: str
    is_server: bool
    enrolled_at: str
    revoked: bool
    revoked_at: str | None = None


class DevicesResponse(_Model):
    facility_id: str
    devices: list[DeviceInfo]


class AlertInfo(_Model):
    pos: int
    alert_id: str
    alert_type: str
    device_id: str | None
    detail: str
    recorded_at: str
    entry: str
    """The signed ``alert.raised`` entry (raw canonical JSON text)."""


class AlertsResponse(_Model):
    alerts: list[AlertInfo]


# ---- snapshot and history ---------------------------------------------------------------------
HISTORY_KINDS = frozenset(
    {
        "administration.recorded",
        "note.amended",
        "entry.voided",
        "prn.followup_recorded",
        "shift.assigned",
        "administration.overrides",
    }
)
"""Ledger kinds that are history, not current state: a snapshot leaves those before its tail
out, and they arrive by backfill (:data:`STATE_KINDS` is every other ledger kind). A shift
assignment is recorded at most a shift ahead of the shift it covers, so every one still in
force lies in the tail (:data:`RECENT_DAYS`); the older ones would only grow every snapshot."""
RECENT_DAYS = 14
"""A snapshot's tail starts at the first ledger entry recorded in the last this many days: the
dose rules and screens look back at most a week (the resident MAR's history) plus a day."""
DEFAULT_HISTORY_DAYS = 400
"""How much history a new tablet fetches unless the facility sets otherwise."""


class ChainPoint(_Model):
    """One device's ledger chain at a feed position: its last entry there (seq 0 and 64 zeros
    when it had none yet)."""

    device_id: str
    seq: Annotated[int, Field(ge=0)]
    digest: Hex32


class SnapshotManifest(_Model):
    """What the server signs about a snapshot (see "Snapshot and history")."""

    server_id: str
    facility_id: str
    issued_at: str
    checkpoint: Annotated[int, Field(ge=0)]
    """The ledger feed's last position when the snapshot was made."""
    heads: list[ChainPoint]
    """Every device's ledger head at ``checkpoint``."""
    tail_after: Annotated[int, Field(ge=0)]
    """The tablet reads the feed after this position; the state entries lie at or before it."""
    anchors: list[ChainPoint]
    """Every device's last ledger entry at or before ``tail_after``."""
    state_count: Annotated[int, Field(ge=0)]
    state_digest: Hex32
    """SHA-256 over ``"pos:digest\n"`` of every state entry, in feed order
    (:func:`state_digest`)."""
    history_from: Annotated[int, Field(ge=0)]
    """Backfill reads history down to (and including) the position after this one: the first
    entry recorded within ``history_days``."""
    history_days: Annotated[int, Field(ge=1)]
    recent_days: Annotated[int, Field(ge=1)]
    sig: Hex64

    def signed_bytes(self) -> bytes:
        return snapshot_message(self.model_dump(mode="json", exclude={"sig"}))


class Snapshot(_Model):
    manifest: SnapshotManifest
    entries: list[FeedItem]
    """The state entries (raw canonical JSON text with their feed position), in feed order."""


class SnapshotMismatch(_Model):
    """The tablet's report that the chains disagree with the snapshot it started from."""

    checkpoint: Annotated[int, Field(ge=0)]
    detail: Annotated[StrictStr, Field(min_length=1, max_length=1000, pattern=PRINTABLE_TEXT)]


def verify_manifest(manifest: SnapshotManifest, server_public_key: str) -> bool:
    """True if ``manifest`` was signed by the server whose public key (hex) is given."""
    return _server_signed(manifest.sig, manifest.signed_bytes(), server_public_key)


def state_digest(items: list[tuple[int, str]]) -> str:
    """The manifest's ``state_digest`` of ``(feed position, entry digest)`` pairs in feed order."""
    h = hashlib.sha256()
    for pos, digest in items:
        h.update(f"{pos}:{digest}\n".encode("ascii"))
    return h.hexdigest()


# ---- credentials ------------------------------------------------------------------------------
class CredentialPut(_Model):
    """A tablet's account version: ``record`` is a closed, signed
    :class:`~mar_desktop.people.statements.AccountRecord` that must name the path's user and
    this version (an unsigned version-1 record of an older tablet: 422)."""

    version: Version64
    record: AccountRecord


class CredentialRefusedReport(_Model):
    """A tablet's report that a record of the credential feed did not verify there
    (``POST /v1/credentials/refused`` → 204): the server raises a ``credential_refused``
    alert naming the reporting device."""

    user_id: IdText
    version: Version64
    reason: Annotated[StrictStr, Field(max_length=500, pattern=PRINTABLE_TEXT)]


class CredentialStored(_Model):
    user_id: str
    version: int
    pos: int
    created: bool
    """False when this exact version was already stored (idempotent re-send)."""


class CredentialItem(_Model):
    pos: int
    user_id: str
    version: int
    record: dict[str, Any]
    stored_at: str


class CredentialPage(_Model):
    items: list[CredentialItem]
    next: int
    more: bool


class Health(_Model):
    status: Literal["ok"] = "ok"
    protocol: int = PROTOCOL_VERSION
