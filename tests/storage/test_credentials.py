"""The credential store on SQLCipher: append-only versions, sync merges, throttle state, and
the audit-log reader."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlcipher3

from mar_desktop import audit
from mar_desktop.clock import FakeClock
from mar_desktop.envelope import Actor
from mar_desktop.errors import Conflict
from mar_desktop.people.credentials import CredentialRecord
from mar_desktop.people.throttle import ThrottleState
from storage.credentials import SqlAuditLog, SqlCredentialStore
from storage.local_store import LocalStore

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def creds(store: LocalStore, fake_clock: FakeClock) -> Iterator[SqlCredentialStore]:
    built = SqlCredentialStore(store.connect_reader, fake_clock)
    try:
        yield built
    finally:
        built.close()


def first(clock: FakeClock, user_id: str = "u1", device: str = "dev-a") -> CredentialRecord:
    return CredentialRecord(
        user_id=user_id,
        version=1,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        totp_secret=SECRET,
        totp_enrolled=True,
        updated_at=clock.now(),
        updated_by="admin",
        updated_by_device=device,
    )


def test_versions_append_and_latest_wins(creds: SqlCredentialStore, fake_clock: FakeClock) -> None:
    assert creds.latest("u1") is None
    one = first(fake_clock)
    creds.append(one)
    fake_clock.advance(60)
    two = one.revise(
        change="totp_used", at=fake_clock.now(), by="u1", device_id="dev-a", last_totp_step=99
    )
    creds.append(two)
    assert creds.latest("u1") == two
    assert creds.history("u1") == [one, two]


def test_version_must_follow_latest(creds: SqlCredentialStore, fake_clock: FakeClock) -> None:
    one = first(fake_clock)
    creds.append(one)
    with pytest.raises(Conflict):
        creds.append(one)
    skipped = one.revise(change="totp_used", at=fake_clock.now(), by="u1", device_id="d")
    skipped = skipped.revise(change="totp_used", at=fake_clock.now(), by="u1", device_id="d")
    with pytest.raises(Conflict):
        creds.append(skipped)
    assert creds.history("u1") == [one]


def test_rows_cannot_be_updated_or_deleted(
    store: LocalStore, creds: SqlCredentialStore, fake_clock: FakeClock
) -> None:
    creds.append(first(fake_clock))
    conn = store.connect_reader()
    try:
        with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
            conn.execute("UPDATE credential_records SET record = x'00'")
        with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM credential_records")
        with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
            conn.execute(
                "INSERT OR REPLACE INTO credential_records SELECT * FROM credential_records"
            )
    finally:
        conn.close()
    assert creds.latest("u1") == first(fake_clock)


def test_synced_versions_from_two_tablets_are_both_kept(
    creds: SqlCredentialStore, fake_clock: FakeClock
) -> None:
    one = first(fake_clock)
    creds.append(one)
    fake_clock.advance(10)
    here = one.revise(change="totp_used", at=fake_clock.now(), by="u1", device_id="dev-a")
    fake_clock.advance(10)
    there = one.revise(
        change="password_changed",
        at=fake_clock.now(),
        by="u1",
        device_id="dev-b",
        password_hash="$argon2id$other",
    )
    creds.append(here)
    assert creds.store_synced(there) is True
    assert creds.store_synced(there) is False  # idempotent
    assert len(creds.history("u1")) == 3
    assert creds.latest("u1") == there  # same version: later updated_at wins


def test_throttle_state_round_trip(creds: SqlCredentialStore, fake_clock: FakeClock) -> None:
    assert creds.throttle_state("u1") == ThrottleState()
    state = ThrottleState(10, fake_clock.now(), fake_clock.now() + timedelta(seconds=1))
    creds.save_throttle_state("u1", state)
    assert creds.throttle_state("u1") == state
    creds.save_throttle_state("u1", ThrottleState())
    assert creds.throttle_state("u1") == ThrottleState()


def test_audit_reader_filters_by_time_and_kind(store: LocalStore, fake_clock: FakeClock) -> None:
    actor = Actor("u1", "nurse")
    start = fake_clock.now()
    store.ledger.append([audit.audit_draft("login", actor=actor, user_name="N")])
    fake_clock.advance(3600)
    middle = fake_clock.now()
    store.ledger.append([audit.audit_draft("logout", actor=actor, user_name="N")])
    log = SqlAuditLog(store.connect_reader)
    try:
        assert [e.kind for e in log.audit_entries()] == ["audit.logout", "audit.login"]
        assert [e.kind for e in log.audit_entries(since=start, until=middle)] == ["audit.login"]
        assert [e.kind for e in log.audit_entries(kinds={"audit.logout"})] == ["audit.logout"]
        assert log.audit_entries(kinds=set()) == []
        assert len(log.audit_entries(limit=1)) == 1
    finally:
        log.close()


def test_audit_reader_filters_by_body_fields_before_the_limit(
    store: LocalStore, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """User, entity and entity-type filters are applied with the limit where the entries are
    stored: the newest matching entries, at most ``limit``, and only they are parsed."""
    import storage.credentials as credentials

    drafts = []
    for i in range(6):
        actor = Actor("u-a" if i % 2 == 0 else "u-b", "nurse")
        drafts.append(audit.audit_draft(
            "resident_viewed", actor=actor, user_name="N", entity_type="resident",
            entity_id=f"r{i % 3}",
        ))
    drafts.append(audit.audit_draft("login", actor=Actor("u-a", "nurse"), user_name="N"))
    for draft in drafts:
        store.ledger.append([draft])
        fake_clock.advance(60)
    log = SqlAuditLog(store.connect_reader)
    parsed: list[bytes] = []
    real = credentials.parse_raw

    def counting(raw: bytes, **options: bool) -> object:
        parsed.append(raw)
        return real(raw, **options)

    try:
        newest_a = log.audit_entries(user_id="u-a", limit=2)
        assert [(e.body["user_id"], e.kind) for e in newest_a] == [
            ("u-a", "audit.login"), ("u-a", "audit.resident_viewed")
        ]
        assert [e.body["entity_id"] for e in log.audit_entries(user_id="u-a", entity_id="r1")] == [
            "r1"
        ]
        assert len(log.audit_entries(entity_type="resident")) == 6
        assert [e.seq for e in log.audit_entries(entity_id="r0")] == [4, 1]
        assert log.audit_entries(user_id="nobody") == []
        monkeypatch.setattr(credentials, "parse_raw", counting)
        assert len(log.audit_entries(user_id="u-b", limit=1)) == 1
        assert len(parsed) == 1  # the other six were never brought into Python
    finally:
        log.close()
