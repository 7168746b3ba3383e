"""The server's storage interface, implemented on SQLite and on PostgreSQL with one meaning.

Threads: a :class:`Store` is shared by all request threads; each call takes a pooled
connection. Reads see committed data only. Writes happen inside :meth:`Store.write`, a
transaction that commits durably (SQLite ``synchronous=FULL``; PostgreSQL
``synchronous_commit=on``) when the ``with`` block ends without an exception and rolls back
otherwise; a write transaction that has called :meth:`WriteTxn.lock_facility` holds that
facility's write lock until it ends, so appends, feed positions and heads never race.

What is never changed: rows of ``entries``, ``credentials`` and ``forks`` are insert-only; the
database refuses UPDATE and DELETE on them (SQLite triggers, PostgreSQL trigger functions). No
method here tries. Raises :class:`mar_desktop.errors.StorageError` when the database cannot be
used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from mar_desktop.envelope import GENESIS, Chain

RevokeMode = Literal["retire", "lost"]


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    device_id: str
    facility_id: str
    public_key: str
    label: str
    is_server: bool
    enrolled_at: str
    revoked_at: str | None = None
    revoke_mode: RevokeMode | None = None
    """``retire`` or ``lost`` (None: not revoked, or revoked before modes existed)."""
    retired_at: str | None = None
    """When a retiring tablet confirmed that the server holds everything it had."""

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def retiring(self) -> bool:
        """Revoked as ``retire`` and not confirmed yet: it may still push what it holds."""
        return self.revoked_at is not None and self.revoke_mode == "retire" and not self.retired_at

    @property
    def refused(self) -> bool:
        """Refused outright: revoked and not (or no longer) retiring."""
        return self.revoked and not self.retiring


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One row of the server's own audit (``server_audit``): never a secret or PHI."""

    at: str
    facility_id: str | None
    device_id: str | None
    action: str
    address: str | None
    detail: str
    audit_id: int = 0


@dataclass(frozen=True, slots=True)
class Head:
    """Highest stored ``seq`` of one chain (0 if empty) and the SHA-256 hex of that entry."""

    seq: int = 0
    digest: str = GENESIS


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A checked entry ready to insert; ``pos`` is its facility-global feed position."""

    facility_id: str
    device_id: str
    chain: Chain
    seq: int
    pos: int
    entry_id: str
    kind: str
    digest: str
    recorded_at: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class StoredEntry:
    facility_id: str
    device_id: str
    chain: Chain
    seq: int
    pos: int
    entry_id: str
    kind: str
    digest: str
    recorded_at: str
    raw: bytes


class FeedHead(NamedTuple):
    """What a stored entry's row says of it without its bytes (:meth:`Store.feed_heads`)."""

    pos: int
    device_id: str
    entry_id: str
    kind: str
    digest: str
    recorded_at: str


@dataclass(frozen=True, slots=True)
class ForkRecord:
    device_id: str
    chain: Chain
    seq: int
    offered_digest: str
    detected_at: str


@dataclass(frozen=True, slots=True)
class CredentialRow:
    pos: int
    user_id: str
    version: int
    record_json: str
    stored_at: str


class WriteTxn(Protocol):
    """One open write transaction (see the module docstring)."""

    def lock_facility(self, facility_id: str) -> None:
        """Takes the facility's write lock. Raises ``StorageError`` if it does not exist."""
        ...

    def add_facility(self, facility_id: str, name: str, created_at: str) -> None: ...

    def add_device(self, device: DeviceRecord) -> None: ...

    def revoke_device(self, device_id: str, at: str, mode: RevokeMode) -> bool:
        """Marks the tablet revoked with ``mode``; a retiring tablet may be revoked again as
        ``lost`` (from ``at`` on). False if unknown, the server itself, already revoked (as
        lost, or retired), or ``mode`` would not make it stricter."""
        ...

    def confirm_retired(self, device_id: str, at: str) -> bool:
        """Marks a retiring tablet retired (it confirmed; refused from now on). False if it is
        not retiring."""
        ...

    def add_audit(self, row: AuditRow) -> None:
        """Appends one row to the server audit in this transaction."""
        ...

    def add_enrol_code(
        self, code_hash: str, facility_id: str, created_at: str, expires_at: str
    ) -> None: ...

    def claim_enrol_code(self, code_hash: str, now: str, device_id: str) -> str | None:
        """Uses the code once if it exists, is unused and unexpired; returns its facility."""
        ...

    def server_device_id(self, facility_id: str) -> str | None: ...

    def head(self, device_id: str, chain: Chain) -> Head: ...

    def stored_digests(self, device_id: str, chain: Chain, seqs: Sequence[int]) -> dict[int, str]:
        """``seq -> digest`` of the stored entries among ``seqs``."""
        ...

    def next_pos(self, facility_id: str, chain: Chain) -> int:
        """The next free feed position of the facility's chain (1 for the first entry)."""
        ...

    def insert_entries(self, rows: Sequence[NewEntry]) -> None: ...

    def record_fork(self, fork: ForkRecord) -> bool:
        """Remembers a detected fork; False if this exact fork was already recorded."""
        ...

    def claim_alert(self, facility_id: str, alert_type: str, subject: str, at: str) -> bool:
        """Records that an alert of this kind about this subject is being raised; False if one
        already was (by any process). Call with the facility locked, and append the alert in
        the same transaction, so the row and the alert commit or roll back together."""
        ...

    def credential(self, facility_id: str, user_id: str, version: int) -> CredentialRow | None: ...

    def latest_credential(self, facility_id: str, user_id: str) -> CredentialRow | None:
        """The user's highest stored version."""
        ...

    def next_credential_pos(self, facility_id: str) -> int: ...

    def insert_credential(self, facility_id: str, row: CredentialRow) -> None: ...


class Store(Protocol):
    """The server database. Safe to share between threads."""

    url_for_display: str

    def migrate(self) -> int:
        """Applies pending numbered migrations; returns the schema version now in force."""
        ...

    def close(self) -> None: ...

    def write(self) -> AbstractContextManager[WriteTxn]: ...

    def facility_ids(self) -> list[str]: ...

    def facility_name(self, facility_id: str) -> str | None: ...

    def get_device(self, device_id: str) -> DeviceRecord | None: ...

    def devices(self, facility_id: str | None = None) -> list[DeviceRecord]:
        """The facility's devices (every facility's if None), in enrolment order."""
        ...

    def server_device(self, facility_id: str) -> DeviceRecord | None: ...

    def heads(self, device_id: str) -> dict[Chain, Head]: ...

    def feed(self, facility_id: str, chain: Chain, after: int, limit: int) -> list[StoredEntry]:
        """Entries of the facility's chain with ``pos > after``, by position, at most ``limit``."""
        ...

    def feed_heads(self, facility_id: str, chain: Chain, after: int, limit: int) -> list[FeedHead]:
        """:meth:`feed` without the entries' bytes: the same rows, for a reader that needs only
        what the row says of each entry (reconciliation, for doses a push already checked)."""
        ...

    def last_pos(self, facility_id: str, chain: Chain) -> int:
        """The feed position of the facility chain's newest entry (0 if empty)."""
        ...

    def entries_of(self, device_id: str, chain: Chain) -> Iterator[StoredEntry]:
        """Every stored entry of one device's chain by ``seq`` (for ``verify``)."""
        ...

    def entries_of_kind(self, facility_id: str, device_id: str, kind: str) -> list[StoredEntry]: ...

    def entries_mentioning(
        self, facility_id: str, chain: Chain, needle: bytes
    ) -> list[StoredEntry]:
        """Every entry of the facility's chain whose bytes contain ``needle`` (one pass over
        the facility's rows in the database; the caller checks each entry), by position."""
        ...

    def entries_between(self, facility_id: str, since: str, until: str) -> list[StoredEntry]:
        """Entries of both chains of the facility with ``since <= recorded_at < until`` (the
        recording device's time), by recorded_at."""
        ...

    # ---- snapshots and history (sync.server.snapshot) -----------------------------------------
    def recorded_at_pos(self, facility_id: str, chain: Chain, pos: int) -> str | None:
        """``recorded_at`` of the entry at feed position ``pos`` (None if there is none)."""
        ...

    def point_at(self, device_id: str, chain: Chain, pos: int) -> Head:
        """The device chain's last entry at or before feed position ``pos`` (``Head()`` if
        none)."""
        ...

    def entries_of_kinds(
        self, facility_id: str, device_id: str, kinds: Sequence[str], upto_pos: int
    ) -> list[StoredEntry]:
        """The device's ledger entries of ``kinds`` at or before ``upto_pos``, by seq."""
        ...

    def feed_before(
        self, facility_id: str, chain: Chain, before: int, limit: int
    ) -> list[StoredEntry]:
        """Entries of the facility's chain with ``pos < before``, DESCENDING, at most
        ``limit``."""
        ...

    def history_days(self, facility_id: str) -> int:
        """The facility's history window for new tablets, in days (default 400)."""
        ...

    def set_history_days(self, facility_id: str, days: int) -> bool:
        """Sets it; False if the facility is unknown."""
        ...

    def credentials(self, facility_id: str, after: int, limit: int) -> list[CredentialRow]: ...

    # ---- the server's own audit (sync.server.audit) --------------------------------------------
    def add_audit(self, row: AuditRow) -> None:
        """Appends one audit row in its own committed transaction."""
        ...

    def audit_rows(
        self, facility_id: str | None, since: str | None, until: str | None, limit: int
    ) -> list[AuditRow]:
        """Audit rows of the facility (every facility's and none's if None) with
        ``since <= at < until``, oldest first, at most ``limit``."""
        ...

    # ---- state shared by every server process (sync.server.auth) -------------------------------
    def add_challenge(self, nonce_hash: str, device_id: str, expires_at: str, now: str) -> None:
        """Stores a challenge (by the SHA-256 of its nonce) and deletes expired ones (``now``),
        in one committed transaction."""
        ...

    def take_challenge(self, nonce_hash: str, now: str) -> str | None:
        """Deletes the challenge and returns its device if it had not expired at ``now``; None
        if unknown, already taken (by any process) or expired. Atomic: two takers, one wins."""
        ...

    def add_token(self, token_hash: str, device_id: str, expires_at: str, now: str) -> None:
        """Stores a bearer token (by its SHA-256) and deletes expired ones (``now``)."""
        ...

    def token_device(self, token_hash: str, now: str) -> str | None:
        """The device of an unexpired token, or None. A read: nothing is written."""
        ...

    def forget_tokens(self, device_id: str) -> int:
        """Deletes every token of the device; returns how many there were."""
        ...

    # ---- credential secrets at rest (sync.server.secrets_at_rest) ------------------------------
    def use_secrets_key(self, kek: bytes) -> None:
        """Sets the server secrets key (no database access); without one, credential rows can
        be neither stored nor read."""
        ...

    def unlock_secrets(self) -> str:
        """Loads the credential secrets' data key wrapped by the key set (making it on first
        use) and seals the rows still in clear; returns the key id. Raises ``WrongKey`` (nothing
        written) or ``StorageError``. Runs by itself at the first credential read or write."""
        ...

    def rotate_secrets_key(
        self, old_kek: bytes, new_kek: bytes, audit: Sequence[AuditRow]
    ) -> None:
        """Rewraps the data key under ``new_kek`` and appends ``audit`` in one transaction.
        Raises ``WrongKey`` when ``old_kek`` is not the key in use (nothing written)."""
        ...
