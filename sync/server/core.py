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

from mar_desktop import kinds
from mar_desktop.clock import Clock, SystemClock, utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR, Entry, EntryDraft, new_id, seal
from mar_desktop.errors import AuthError, Conflict, NotFound, ValidationError
from mar_desktop.model import Facility, Role, User
from mar_desktop.people.statements import AccountRecord
from mar_desktop.signing import DeviceSigner
from sync.protocol import CredentialRefusedReport
from sync.server import accounts
from sync.server import audit as server_audit
from sync.server.config import server_id_of
from sync.server.secrets_at_rest import derived_key, key_id
from sync.server.store import CredentialRow, DeviceRecord, NewEntry, RevokeMode, Store, WriteTxn

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


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

    def __init__(
        self,
        store: Store,
        signer: DeviceSigner,
        clock: Clock | None = None,
        *,
        secrets_key: bytes | None = None,
    ) -> None:
        """Gives the store the server secrets key (``secrets_key``: the configured key file's;
        None: the key derived from ``signer``); the data key is loaded at the first credential
        read or write, or at once by ``store.unlock_secrets()`` (as :func:`open_core` does)
        (:mod:`sync.server.secrets_at_rest`). No database access."""
        self.store = store
        self.signer = signer
        self.clock = clock or SystemClock()
        self.public_key = signer.public_hex
        self.server_id = server_id_of(signer.public_hex)
        self.secrets_key_from_file = secrets_key is not None
        kek = secrets_key or derived_key(signer)
        store.use_secrets_key(kek)
        self.secrets_key_id = key_id(kek)

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

    def revoke(
        self,
        device_id: str,
        mode: RevokeMode = "lost",
        *,
        address: str | None = None,
        reason: str = "",
    ) -> Entry:
        """Revokes a tablet (``retire`` or ``lost``, see :class:`kinds.DeviceRevoked`) with a
        ``device.revoked`` entry of the server device and an audit row, in one transaction;
        returns the entry. A retiring tablet may be revoked again as lost. Its stored entries
        stay valid. Raises ``NotFound`` (unknown, the server itself), ``Conflict`` (already
        revoked so)."""
        device = self.store.get_device(device_id)
        if device is None or device.is_server:
            raise NotFound("no such device, or the server itself")
        with self.store.write() as txn:
            txn.lock_facility(device.facility_id)
            if not txn.revoke_device(device_id, self.now(), mode):
                raise Conflict(
                    "the device is already revoked (a retiring tablet can still be revoked "
                    "as lost; a lost or retired one stays so)"
                )
            body = kinds.DeviceRevoked(device_id=device_id, mode=mode)
            [entry] = self.append_server_entries(
                txn,
                device.facility_id,
                [EntryDraft(kinds.DEVICE_REVOKED, SYSTEM_ACTOR, kinds.body_json(body))],
            )
            detail = f"mode={mode}" + (f"; reason: {reason}" if reason else "")
            txn.add_audit(
                server_audit.row(
                    self.clock, server_audit.REVOKED, address=address, device=device, detail=detail
                )
            )
        return entry

    def revocation_entry(self, device: DeviceRecord) -> bytes | None:
        """The signed ``device.revoked`` entry now in force for ``device`` (the latest one), or
        None (not revoked, or revoked before revocations were entries)."""
        if not device.revoked:
            return None
        server = self.store.server_device(device.facility_id)
        if server is None:
            return None
        found = None
        for stored in self.store.entries_of_kind(
            device.facility_id, server.device_id, kinds.DEVICE_REVOKED
        ):
            body = json.loads(stored.raw)["body"]
            if body.get("device_id") == device.device_id:
                found = stored.raw
        return found

    def confirm_retired(
        self, device: DeviceRecord, ledger_seq: int, audit_seq: int, address: str | None
    ) -> str:
        """A retiring tablet says it has nothing more: its chain heads must be what the server
        holds. Marks it retired (refused from now on) with an audit row; returns the time.
        Raises ``Conflict`` when the heads differ (push first) or it is not retiring."""
        if not device.retiring:
            raise Conflict("this device is not retiring")
        heads = self.store.heads(device.device_id)
        if heads["ledger"].seq != ledger_seq or heads["audit"].seq != audit_seq:
            raise Conflict(
                f"the server holds ledger up to {heads['ledger'].seq} and audit up to "
                f"{heads['audit'].seq} of this tablet, not {ledger_seq} and {audit_seq}: "
                "push everything first; nothing was erased"
            )
        at = self.now()
        with self.store.write() as txn:
            txn.lock_facility(device.facility_id)
            if not txn.confirm_retired(device.device_id, at):
                raise Conflict("this device is not retiring")
            txn.add_audit(
                server_audit.row(
                    self.clock,
                    server_audit.RETIRED,
                    address=address,
                    device=device,
                    detail=f"ledger={ledger_seq} audit={audit_seq}; the tablet erases itself",
                )
            )
        return at

    # ---- people -------------------------------------------------------------------------------
    def create_first_admin(self, facility_id: str, username: str, full_name: str) -> FirstAdmin:
        """``user.created`` (server-signed) plus version 1 of the account record, made and
        signed by the server (:func:`sync.server.accounts.first_admin_record`): a temporary
        password that must be changed at first sign-in, which binds the admin's own key. The
        password is returned once and stored nowhere in clear."""
        user = User(
            user_id=new_id(),
            username=username,
            full_name=full_name,
            initials="".join(p[0] for p in full_name.split()[:3]).upper() or "A",
            role=Role.FACILITY_ADMIN,
        )
        record, password = accounts.first_admin_record(self, user.user_id, username)
        with self.store.write() as txn:
            txn.lock_facility(facility_id)
            body = kinds.body_json(kinds.UserCreated(user=user))
            self.append_server_entries(
                txn, facility_id, [EntryDraft(kinds.USER_CREATED, SYSTEM_ACTOR, body)]
            )
            accounts.store_server_record(self, txn, facility_id, record)
        return FirstAdmin(user.user_id, username, password)

    def put_credential(
        self,
        facility_id: str,
        user_id: str,
        version: int,
        record: AccountRecord,
        device_id: str,
    ) -> tuple[CredentialRow, bool]:
        """Stores a tablet's account version after verifying it; ``(row, created)``.

        Raises ``ValidationError`` (nothing stored) when ``record`` names another user or
        version than ``user_id``/``version``, ``Conflict`` when that version is already stored
        with another record, ``CredentialRefused`` when it does not verify as authorised (an
        alert is raised). Returns the held row, ``created=False``, for an identical re-send.
        See :mod:`sync.server.accounts`."""
        if record.user_id != user_id:
            raise ValidationError("record.user_id is not the user named in the path")
        if record.version != version:
            raise ValidationError("record.version is not the version of the request")
        return accounts.put_account(self, facility_id, device_id, record)

    def credential_refused_by_tablet(
        self, facility_id: str, device_id: str, report: CredentialRefusedReport
    ) -> None:
        """A tablet refused a record of the credential feed: one ``credential_refused`` alert
        per device, account and version."""
        accounts.raise_refusal_alert(
            self,
            facility_id,
            device_id,
            report.user_id,
            report.version,
            f"a tablet refused an account record: {report.reason}",
        )
