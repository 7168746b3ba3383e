"""Credential records: versions, canonical JSON for sync, no secret in repr or errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mar_desktop.errors import ValidationError
from mar_desktop.people.credentials import (
    CredentialRecord,
    FirstAdminRecord,
    RecoverySlot,
    parse_stored_record,
)

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def record() -> CredentialRecord:
    return CredentialRecord(
        user_id="u1",
        version=1,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
        totp_secret=SECRET,
        totp_enrolled=True,
        recovery_codes=(RecoverySlot(code_hash="a" * 64),),
        updated_at=T0,
        updated_by="admin",
        updated_by_device="dev-1",
    )


def test_revise_makes_next_version_and_keeps_old() -> None:
    first = record()
    second = first.revise(
        change="totp_used",
        at=T0 + timedelta(minutes=1),
        by="u1",
        device_id="dev-2",
        last_totp_step=42,
    )
    assert (first.version, first.last_totp_step) == (1, None)
    assert (second.version, second.last_totp_step, second.change) == (2, 42, "totp_used")
    assert second.updated_by_device == "dev-2"
    assert second.sort_key() > first.sort_key()


def test_canonical_round_trip() -> None:
    original = record()
    raw = original.to_canonical()
    assert CredentialRecord.from_canonical(raw) == original
    assert raw == CredentialRecord.from_canonical(raw).to_canonical()
    assert b'"updated_at":"2026-01-05T08:00:00Z"' in raw


def test_repr_hides_secrets() -> None:
    text = repr(record())
    assert SECRET not in text
    assert "argon2id" not in text
    assert "a" * 64 not in text


def test_damaged_record_error_has_no_secret() -> None:
    raw = record().to_canonical().replace(b'"version":1', b'"version":0')
    with pytest.raises(ValidationError) as err:
        CredentialRecord.from_canonical(raw)
    assert SECRET not in str(err.value)
    assert SECRET not in repr(err.value)
    assert err.value.__cause__ is None
    assert err.value.__suppress_context__


def test_invalid_revision_error_has_no_secret() -> None:
    with pytest.raises(ValidationError) as err:
        record().revise(change="totp_used", at=T0, by="u1", device_id="d", last_totp_step="x")
    assert SECRET not in str(err.value)


def test_recovery_codes_left() -> None:
    rec = record().revise(
        change="recovery_code_used",
        at=T0,
        by="u1",
        device_id="d",
        recovery_codes=(
            RecoverySlot(code_hash="a" * 64, used_at=T0),
            RecoverySlot(code_hash="b" * 64),
        ),
    )
    assert rec.recovery_codes_left == 1
    assert rec.unused_recovery_hashes == ["b" * 64]


def test_any_known_record_shape_parses_from_its_stored_text() -> None:
    full = record().revise(
        change="totp_used", at=T0, by="u1", device_id="dev-2", last_totp_step=59_000_000
    )
    assert parse_stored_record(full.to_canonical()) == full
    first = FirstAdminRecord(
        user_id="u-admin", username="admin", password_hash="$argon2id$v=19$x", created_at=T0
    )
    assert parse_stored_record(first.model_dump_json()) == first


@pytest.mark.parametrize(
    "change",
    [
        {"version": "2"},
        {"version": 2**63},
        {"last_totp_step": -1},
        {"must_change_password": 1},
        {"totp_secret": SECRET + "\x00"},
        {"user_id": "u" * 65},
        {"recovery_codes": [{"code_hash": "a" * 64}] * 65},
        {"unknown": 1},
    ],
)
def test_closed_record_refuses_other_shapes_without_echoing_values(
    change: dict[str, object],
) -> None:
    text = json.dumps({**record().model_dump(mode="json"), **change})
    with pytest.raises(ValidationError) as caught:
        parse_stored_record(text)
    assert SECRET not in str(caught.value)
    assert "argon2id" not in str(caught.value)
