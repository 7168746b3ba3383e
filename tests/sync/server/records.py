"""Credential records for server tests: unsigned version-1 records as older tablets sent them
(the server now refuses them), and signed account records as tablets send them now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mar_desktop.model import Role
from mar_desktop.people import issue, userkeys
from mar_desktop.people.credentials import CredentialRecord
from mar_desktop.people.statements import AccountRecord
from tests.statements import FAST_PARAMS, OWN, TEMP, Signed

HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo"


def credential(user_id: str, version: int = 1, **fields: Any) -> CredentialRecord:
    """A valid tablet record of ``user_id`` at ``version``; ``fields`` override the rest."""
    data: dict[str, Any] = {
        "user_id": user_id,
        "version": version,
        "password_hash": HASH,
        "updated_at": datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        "updated_by": "system",
        "updated_by_device": "dev-1",
        **fields,
    }
    return CredentialRecord.model_validate(data)


def record_json(user_id: str, version: int = 1, **fields: Any) -> dict[str, Any]:
    """:func:`credential` in its JSON form: the ``record`` of ``PUT /v1/credentials/{id}``."""
    return credential(user_id, version, **fields).model_dump(mode="json")


# ---- signed account records (what the server accepts) -------------------------------------------
def signed_admin(server: Any, username: str = "admin") -> Signed:
    """``mar-server init``'s first admin of ``server``'s facility with their own key bound
    (through the server's verified path, as a tablet's first sign-in does)."""
    first = server.core.create_first_admin(server.facility_id, username, "Dana Whitfield")
    rows = server.store.credentials(server.facility_id, 0, 1000)
    row = next(r for r in rows if r.user_id == first.user_id)
    created = AccountRecord.from_canonical(row.record_json)
    derived = userkeys.check(created.password, first.temporary_password)
    assert derived is not None
    bound, key = issue.bind_key(
        created, derived, OWN, FAST_PARAMS, at=datetime(2026, 3, 1, 8, tzinfo=UTC), device_id="t"
    )
    server.core.put_credential(server.facility_id, first.user_id, 2, bound, "t")
    return Signed([created, bound], key)


def account_json(admin: Signed, user_id: str, **fields: Any) -> dict[str, Any]:
    """Version 1 of ``user_id`` created and signed by ``admin`` (not co-signed), as JSON."""
    assert admin.key is not None
    record = issue.new_account(
        user_id=user_id,
        username=fields.pop("username", user_id.lower()),
        role=fields.pop("role", Role.NURSE),
        temp=TEMP,
        params=FAST_PARAMS,
        at=datetime(2026, 3, 1, 8, tzinfo=UTC),
        by=admin.head.user_id,
        device_id="dev-1",
    )
    if fields:
        record = record.model_copy(update=fields)
    return record.signed(admin.key).model_dump(mode="json")
