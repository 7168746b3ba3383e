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
from mar_desktop.errors import Conflict, CredentialRefused
from mar_desktop.model import Role
from mar_desktop.people import issue
from mar_desktop.people.credentials import CredentialRecord
from mar_desktop.people.statements import AccountRecord
from mar_desktop.people.throttle import ThrottleState
from mar_desktop.signing import DeviceSigner, PublicKey, load_public_key
from storage.credentials import SqlAuditLog, SqlCredentialStore
from storage.local_store import LocalStore
from tests.statements import AT, FAST_PARAMS, Authority

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def creds(store: LocalStore, fake_clock: FakeClock) -> Iterator[SqlCredentialStore]:
    built = SqlCredentialStore(store.connect_reader, fake_clock)
    try:
        yield built
    finally:
        built.close()


def first(clock: FakeClock, user_id: str = "u1", device: str = "dev-a") -> CredentialRecord:
    """An unsigned version-1 record, as tablets stored them before signed statements."""
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


@pytest.fixture
def authority() -> Authority:
    return Authority()


def server_key(authority: Authority) -> PublicKey:
    return load_public_key(authority.server.public_hex)


def test_signed_versions_follow_one_another_and_the_head_wins(
    creds: SqlCredentialStore, authority: Authority
) -> None:
    admin = authority.first_admin()
    assert creds.latest(admin.head.user_id) is None
    for record in admin.records:
        assert creds.store_synced(record, server_key(authority)) is True
    assert creds.store_synced(admin.records[0], server_key(authority)) is False  # idempotent
    assert creds.latest(admin.head.user_id) == admin.head
    assert creds.history(admin.head.user_id) == admin.records
    # made here: a password change signed by the user's own key
    changed = authority.change(
        admin, admin, "password_changed", cosign=False, must_change_password=False
    )
    creds.append(changed)
    assert creds.latest(admin.head.user_id) == changed


def test_a_version_must_follow_the_one_in_force(
    creds: SqlCredentialStore, authority: Authority
) -> None:
    admin = authority.first_admin()
    key = server_key(authority)
    with pytest.raises(CredentialRefused, match="does not follow"):
        creds.store_synced(admin.records[1], key)  # its predecessor is not held
    creds.store_synced(admin.records[0], key)
    creds.store_synced(admin.records[1], key)
    with pytest.raises(Conflict):
        creds.append(admin.records[1])  # made here again: not the next version
    assert creds.history(admin.head.user_id) == admin.records


def test_rows_cannot_be_updated_or_deleted(
    store: LocalStore, creds: SqlCredentialStore, authority: Authority, fake_clock: FakeClock
) -> None:
    admin = authority.first_admin()
    creds.store_synced(admin.records[0], server_key(authority))
    creds.store_legacy(first(fake_clock))
    conn = store.connect_reader()
    try:
        for table in ("account_records", "credential_records"):
            with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
                conn.execute(f"UPDATE {table} SET record = x'00'")
            with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
                conn.execute(f"DELETE FROM {table} WHERE 1 = 1")
    finally:
        conn.close()
    assert creds.latest(admin.head.user_id) == admin.records[0]


def test_the_version_the_server_accepted_supersedes_one_made_here(
    creds: SqlCredentialStore, authority: Authority
) -> None:
    """Two tablets changed the account offline: what the server took wins; the local version
    that lost is kept (append-only) but is no longer in force."""
    admin = authority.first_admin()
    key = server_key(authority)
    for record in admin.records:
        creds.store_synced(record, key)
    here = authority.change(admin, admin, "password_changed", cosign=False)
    creds.append(here)
    there = authority.change(admin, admin, "recovery_codes_renewed", cosign=False)
    assert creds.store_synced(there, key) is True
    assert creds.latest(admin.head.user_id) == there
    assert creds.history(admin.head.user_id) == [*admin.records, there]


def test_a_forged_record_is_refused_and_nothing_is_stored(
    creds: SqlCredentialStore, authority: Authority, store: LocalStore
) -> None:
    """A record that reached the tablet without the server (or past it): an admin change not
    co-signed, a takeover signed by a device's own key, a role raised by the user."""
    admin = authority.first_admin()
    key = server_key(authority)
    for record in admin.records:
        creds.store_synced(record, key)
    nurse = authority.create(admin, "u-n", "nurse1")
    creds.store_synced(nurse.head, key)
    nurse = authority.bind(nurse)
    creds.store_synced(nurse.head, key)
    rogue = DeviceSigner.generate()
    forged = [
        authority.change(nurse, admin, "account_changed", cosign=False, role=Role.FACILITY_ADMIN),
        authority.change(
            admin,
            rogue,
            "password_reset",
            by=admin.head.user_id,
            **issue.temporary_fields("rogue-password-123", FAST_PARAMS),
        ),
        authority.change(nurse, nurse, "account_changed", role=Role.FACILITY_ADMIN),
        authority.change(nurse, nurse, "password_changed", role=Role.FACILITY_ADMIN),
        AccountRecord.model_validate(
            {
                **authority.change(admin, admin, "unlocked", unlocked_at=AT).model_dump(),
                "server_sig": DeviceSigner.generate().sign(b"x").hex(),
            }
        ),
    ]
    before = _rows(store)
    for record in forged:
        with pytest.raises(CredentialRefused):
            creds.store_synced(record, key)
    assert _rows(store) == before
    assert creds.latest(nurse.head.user_id) == nurse.head
    assert creds.latest(admin.head.user_id) == admin.head


def _rows(store: LocalStore) -> int:
    conn = store.connect_reader()
    try:
        return int(conn.execute("SELECT count(*) FROM account_records").fetchone()[0])
    finally:
        conn.close()


def test_unsigned_records_from_before_stay_the_starting_point(
    creds: SqlCredentialStore, fake_clock: FakeClock
) -> None:
    one = first(fake_clock)
    assert creds.store_legacy(one) is True
    assert creds.store_legacy(one) is False
    assert creds.latest("u1") == one


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
