"""Server use cases that are not the push itself: facilities, enrolment, revocation, the
server device's own entries, the first admin and credential records.

The server is a *device* of every facility it hosts: one device row per facility (``is_server``)
whose public key is the server key. What the server itself records — ``facility.configured``,
``device.enrolled``, the first admin's ``user.created``, ``alert.raised`` — are entries of that
device's ledger chain, signed by the server key, so tablets pull and verify them like any other.

Threads: any; every method runs its own transaction. Raises ``MarError`` subclasses.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from mar_desktop import kinds
from mar_desktop.clock import Clock, SystemClock, utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR, Entry, EntryDraft, new_id, seal
from mar_desktop.errors import AuthError, Conflict, NotFound, ValidationError
from mar_desktop.model import Facility, Role, User
from mar_desktop.people.credentials import AnyCredentialRecord, CredentialRecord, FirstAdminRecord
from mar_desktop.signing import DeviceSigner
from sync.server.config import server_id_of
from sync.server.store import CredentialRow, DeviceRecord, NewEntry, Store, WriteTxn

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789"  # noqa: S105 - the alphabet only


def hash_code(code: str) -> str:
    """Enrolment codes are stored as SHA-256 of their normalised form (they carry ~100 bits)."""
    normal = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(b"mar-enrol-code\x00" + normal.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Enrolled:
    device_id: str
    facility_id: str


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    user_id: str
    username: str
    temporary_password: str


class ServerCore:
    """The server's identity plus the store: what the CLI and the HTTP app both use."""

    def __init__(self, store: Store, signer: DeviceSigner, clock: Clock | None = None) -> None:
        self.store = store
        self.signer = signer
        self.clock = clock or SystemClock()
        self.public_key = signer.public_hex
        self.server_id = server_id_of(signer.public_hex)

    def now(self) -> str:
        return utc_iso(self.clock.now())

    # ---- the server device's own chain --------------------------------------------------------
    def append_server_entries(
        self, txn: WriteTxn, facility_id: str, drafts: Sequence[EntryDraft]
    ) -> list[Entry]:
        """Seals drafts into the server device's ledger chain inside ``txn`` (facility locked)."""
        server_device_id = txn.server_device_id(facility_id)
        if server_device_id is None:
            raise NotFound("this facility has no server device")
        head = txn.head(server_device_id, "ledger")
        pos = txn.next_pos(facility_id, "ledger")
        seq, prev = head.seq, head.digest
        entries: list[Entry] = []
        rows: list[NewEntry] = []
        for draft in drafts:
            kinds.parse_body(draft.kind, draft.body)
            seq += 1
            entry = seal(
                draft,
                facility_id=facility_id,
                device_id=server_device_id,
                seq=seq,
                prev=prev,
                recorded_at=self.clock.now(),
                signer=self.signer,
            )
            prev = entry.digest
            entries.append(entry)
            rows.append(
                NewEntry(
                    facility_id,
                    server_device_id,
                    "ledger",
                    seq,
                    pos,
                    entry.id,
                    entry.kind,
                    entry.digest,
                    entry.recorded_at,
                    entry.raw,
                )
            )
            pos += 1
        txn.insert_entries(rows)
        return entries

    # ---- facilities and devices ---------------------------------------------------------------
    def create_facility(self, name: str, timezone: str) -> tuple[str, str]:
        """Creates a facility and its server device; returns ``(facility_id, server_device_id)``."""
        facility_id = new_id()
        server_device_id = new_id()
        try:
            facility = Facility(facility_id=facility_id, name=name, timezone=timezone)
        except ValueError as exc:
            raise ValidationError(f"facility not valid: {exc}") from None
        with self.store.write() as txn:
            txn.add_facility(facility_id, name, self.now())
            txn.add_device(
                DeviceRecord(
                    server_device_id, facility_id, self.public_key, "mar-server", True, self.now()
                )
            )
            txn.lock_facility(facility_id)
            body = kinds.body_json(kinds.FacilityConfigured(facility=facility))
            self.append_server_entries(
                txn, facility_id, [EntryDraft(kinds.FACILITY_CONFIGURED, SYSTEM_ACTOR, body)]
            )
        return facility_id, server_device_id

    def make_enrol_code(self, facility_id: str, ttl: timedelta = timedelta(hours=24)) -> str:
        """A fresh one-time code (shown once; only its hash is stored)."""
        if self.store.facility_name(facility_id) is None:
            raise NotFound("unknown facility")
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(20))
        code = "-".join(raw[i : i + 5] for i in range(0, 20, 5))
        with self.store.write() as txn:
            txn.add_enrol_code(
                hash_code(code), facility_id, self.now(), utc_iso(self.clock.now() + ttl)
            )
        return code

    def enroll(self, code: str, public_key: str, label: str) -> Enrolled:
        """Registers a device with a one-time code. Raises ``AuthError`` for a bad code."""
        device_id = new_id()
        with self.store.write() as txn:
            facility_id = txn.claim_enrol_code(hash_code(code), self.now(), device_id)
            if facility_id is None:
                raise AuthError("enrolment code is not valid, already used or expired")
            txn.lock_facility(facility_id)
            txn.add_device(
                DeviceRecord(device_id, facility_id, public_key, label, False, self.now())
            )
            body = kinds.DeviceEnrolled(device_id=device_id, public_key=public_key, label=label)
            self.append_server_entries(
                txn,
                facility_id,
                [EntryDraft(kinds.DEVICE_ENROLLED, SYSTEM_ACTOR, kinds.body_json(body))],
            )
        return Enrolled(device_id, facility_id)

    def revoke(self, device_id: str) -> None:
        """Revokes a tablet. Its stored entries stay valid. Raises ``NotFound``."""
        with self.store.write() as txn:
            if not txn.revoke_device(device_id, self.now()):
                raise NotFound("no such device, already revoked, or the server itself")

    # ---- people -------------------------------------------------------------------------------
    def create_first_admin(self, facility_id: str, username: str, full_name: str) -> FirstAdmin:
        """``user.created`` (server-signed) plus a credential record holding an Argon2id hash of
        a temporary password that must be changed at first login. The password is returned
        once and stored nowhere in clear."""
        user = User(
            user_id=new_id(),
            username=username,
            full_name=full_name,
            initials="".join(p[0] for p in full_name.split()[:3]).upper() or "A",
            role=Role.FACILITY_ADMIN,
        )
        password = "-".join(
            "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(5)) for _ in range(4)
        )
        hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
        record = FirstAdminRecord(
            user_id=user.user_id,
            username=username,
            password_hash=hasher.hash(password),
            created_at=self.clock.now(),
        )
        with self.store.write() as txn:
            txn.lock_facility(facility_id)
            body = kinds.body_json(kinds.UserCreated(user=user))
            self.append_server_entries(
                txn, facility_id, [EntryDraft(kinds.USER_CREATED, SYSTEM_ACTOR, body)]
            )
            self._put_credential(txn, facility_id, user.user_id, 1, record)
        return FirstAdmin(user.user_id, username, password)

    def put_credential(
        self, facility_id: str, user_id: str, version: int, record: CredentialRecord
    ) -> tuple[CredentialRow, bool]:
        """Stores a tablet's credential version; ``(row, created)``.

        Raises ``ValidationError`` (nothing stored) when ``record`` names another user or
        version than ``user_id``/``version``, ``Conflict`` when that version is already stored
        with another record. Returns the held row, ``created=False``, for an identical re-send.
        """
        if record.user_id != user_id:
            raise ValidationError("record.user_id is not the user named in the path")
        if record.version != version:
            raise ValidationError("record.version is not the version of the request")
        with self.store.write() as txn:
            txn.lock_facility(facility_id)
            return self._put_credential(txn, facility_id, user_id, version, record)

    def _put_credential(
        self,
        txn: WriteTxn,
        facility_id: str,
        user_id: str,
        version: int,
        record: AnyCredentialRecord,
    ) -> tuple[CredentialRow, bool]:
        # The stored text is the record's own JSON form: for a tablet's record that is exactly
        # what it sent (its canonical form), so re-sends compare equal with rows stored before.
        text = json.dumps(
            record.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        held = txn.credential(facility_id, user_id, version)
        if held is not None:
            if held.record_json != text:
                raise Conflict(f"credential version {version} is already stored, differently")
            return held, False
        row = CredentialRow(
            txn.next_credential_pos(facility_id), user_id, version, text, self.now()
        )
        txn.insert_credential(facility_id, row)
        return row, True
