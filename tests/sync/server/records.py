"""Credential records as a tablet sends them, for server tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mar_desktop.people.credentials import CredentialRecord

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
