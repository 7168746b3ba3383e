"""Account records on the server: verify before storing, co-sign admin changes, alert on what
does not verify (docs/architecture.md#credentials).

A tablet's ``PUT /v1/credentials/{user_id}`` carries a signed :class:`AccountRecord`. Under
the facility's write lock the server takes the version it must follow (the row one below; the
user's highest row must be exactly that one), runs the same check as every tablet
(:func:`mar_desktop.people.authority.check_next`, origin SERVER: signers are looked up in the
server's own rows), co-signs an admin change with the server key and stores it. What does not
verify is refused (:class:`CredentialRefused`, 403) with nothing stored, and raises one
``credential_refused`` alert per device, account and version, in its own transaction.

The first admin of ``mar-server init`` is a ``created`` record made and signed by the server
alone (``updated_by = "system"``); ``mar-server reset-admin`` makes a server-signed password
reset for a facility admin (the way back in when no admin can sign, e.g. after the upgrade from
unsigned records). Threads: any; each function runs its own transaction(s).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Protocol

from mar_desktop import kinds
from mar_desktop.clock import Clock
from mar_desktop.envelope import SYSTEM_ACTOR, Entry, EntryDraft, new_id
from mar_desktop.errors import Conflict, CredentialRefused, ValidationError
from mar_desktop.model import Role
from mar_desktop.people import issue
from mar_desktop.people.authority import Origin, check_next, expected_prev
from mar_desktop.people.passwords import DEFAULT_ARGON2, Argon2Parameters
from mar_desktop.people.statements import (
    ADMIN_CHANGES,
    SYSTEM,
    AccountRecord,
    AnyRecord,
    build,
    parse_record,
)
from mar_desktop.signing import DeviceSigner, load_public_key
from sync.server.store import CredentialRow, Store, WriteTxn


class ServerCore(Protocol):
    """What these functions need of :class:`sync.server.core.ServerCore`."""

    store: Store
    signer: DeviceSigner
    clock: Clock
    public_key: str
    server_id: str

    def now(self) -> str: ...

    def append_server_entries(
        self, txn: WriteTxn, facility_id: str, drafts: Sequence[EntryDraft]
    ) -> list[Entry]: ...

_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789"  # noqa: S105 - the alphabet only


def temporary_password() -> str:
    return "-".join(
        "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(5)) for _ in range(4)
    )


def record_text(record: AnyRecord) -> str:
    """The stored text of a record: its JSON form, keys sorted, compact."""
    return json.dumps(
        record.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), allow_nan=False
    )


def _held(txn: WriteTxn, facility_id: str, user_id: str) -> AnyRecord | None:
    row = txn.latest_credential(facility_id, user_id)
    if row is None:
        return None
    try:
        return parse_record(row.record_json)
    except ValidationError:
        return None  # a row stored before the shapes were closed signs nothing


def put_account(
    core: ServerCore,
    facility_id: str,
    device_id: str,
    record: AccountRecord,
) -> tuple[CredentialRow, bool]:
    """Verifies, co-signs (admin changes) and stores a tablet's account version.

    Returns ``(row, created)``; ``created`` is False for a re-send of a version held with the
    same content. Raises Conflict (that version is held with other content), CredentialRefused
    (does not verify; alert raised, nothing stored)."""
    try:
        with core.store.write() as txn:
            txn.lock_facility(facility_id)
            return _put(core, txn, facility_id, record)
    except CredentialRefused as refused:
        raise_refusal_alert(
            core, facility_id, device_id, record.user_id, record.version, str(refused),
            record.digest(),
        )
        raise


def _put(
    core: ServerCore, txn: WriteTxn, facility_id: str, record: AccountRecord
) -> tuple[CredentialRow, bool]:
    held = txn.credential(facility_id, record.user_id, record.version)
    if held is not None:
        try:
            stored = parse_record(held.record_json)
        except ValidationError:
            stored = None
        if isinstance(stored, AccountRecord) and stored.digest() == record.digest():
            return held, False  # the same statement again (perhaps before the co-signature)
        raise Conflict(f"credential version {record.version} is already stored, differently")
    prev = _held(txn, facility_id, record.user_id)
    if record.change == "legacy_rebound":
        raise CredentialRefused(
            "account change refused: an account from before signed records is carried over "
            "by an administrator's password reset on a tablet that reaches the server"
        )
    check_next(
        prev,
        record,
        origin=Origin.SERVER,
        signers=lambda user_id: _held(txn, facility_id, user_id),
        server_key=load_public_key(core.public_key),
    )
    if record.change in ADMIN_CHANGES and record.server_sig is None:
        record = record.cosigned(core.signer)
    return _insert(core, txn, facility_id, record), True


def _insert(core: ServerCore, txn: WriteTxn, facility_id: str, record: AnyRecord) -> CredentialRow:
    version = record.version if isinstance(record, AccountRecord) else 1
    row = CredentialRow(
        txn.next_credential_pos(facility_id), record.user_id, version, record_text(record),
        core.now(),
    )
    txn.insert_credential(facility_id, row)
    return row


def raise_refusal_alert(
    core: ServerCore,
    facility_id: str,
    device_id: str,
    user_id: str,
    version: int,
    reason: str,
    digest: str = "reported",
) -> None:
    """One ``credential_refused`` alert (server-signed entry) per device, account, version and
    record content (``digest``; a tablet's report counts once): re-sending the same record
    does not flood the alerts, each different forgery is seen."""
    subject = f"credential:{device_id}:{user_id}:{version}:{digest}"
    with core.store.write() as txn:
        txn.lock_facility(facility_id)
        if not txn.claim_alert(facility_id, "credential_refused", subject, core.now()):
            return
        body = kinds.AlertRaised(
            v=2,
            alert_id=new_id(),
            alert_type="credential_refused",
            device_id=device_id,
            detail=f"{reason} (account {user_id}, version {version})"[:2000],
        )
        core.append_server_entries(
            txn,
            facility_id,
            [EntryDraft(kinds.ALERT_RAISED, SYSTEM_ACTOR, kinds.body_json(body))],
        )


def first_admin_record(
    core: ServerCore,
    user_id: str,
    username: str,
    params: Argon2Parameters = DEFAULT_ARGON2,
) -> tuple[AccountRecord, str]:
    """``mar-server init``'s first admin: version 1 made and signed by the server, and the
    temporary password (shown once, stored nowhere in clear)."""
    password = temporary_password()
    record = issue.new_account(
        user_id=user_id,
        username=username,
        role=Role.FACILITY_ADMIN,
        temp=password,
        params=params,
        at=core.clock.now(),
        by=SYSTEM,
        device_id=core.server_id,
    ).cosigned(core.signer)
    return record, password


def store_server_record(
    core: ServerCore, txn: WriteTxn, facility_id: str, record: AccountRecord
) -> CredentialRow:
    """Stores a record the server made itself (inside the caller's transaction)."""
    if txn.credential(facility_id, record.user_id, record.version) is not None:
        raise Conflict("that account version is already stored")
    return _insert(core, txn, facility_id, record)


def reset_admin(
    core: ServerCore,
    facility_id: str,
    user_id: str,
    username: str,
    params: Argon2Parameters = DEFAULT_ARGON2,
) -> str:
    """A server-signed password reset that makes ``user_id`` a facility admin with a new
    temporary password (returned once). The operator's way in when no admin can sign: after
    the upgrade from unsigned records, or when every admin is locked out."""
    password = temporary_password()
    with core.store.write() as txn:
        txn.lock_facility(facility_id)
        prev = _held(txn, facility_id, user_id)
        if prev is None:
            raise ValidationError("no account with this id has credentials on this server")
        version, digest = expected_prev(prev)
        base = prev.model_dump() if isinstance(prev, AccountRecord) else {}
        data = {
            **base,
            "user_id": user_id,
            "version": version,
            "prev": digest,
            "username": username,
            "role": Role.FACILITY_ADMIN,
            "active": True,
            **issue.temporary_fields(password, params),
            "change": "password_reset",
            "updated_at": core.clock.now(),
            "updated_by": SYSTEM,
            "updated_by_device": core.server_id,
            "sig": None,
            "bind_sig": None,
            "server_sig": None,
        }
        record = build(data).cosigned(core.signer)
        store_server_record(core, txn, facility_id, record)
    return password
