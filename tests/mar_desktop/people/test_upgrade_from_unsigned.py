"""The upgrade to signed account records (migration 0010): a tablet of the previous release
holds unsigned version-1 records; after the upgrade its users still sign in with their old
password, offline, and are made to choose a new password and set the authenticator up again
(the first signed version, ``legacy_rebound``), after which only the new password opens; the
old records stay (append-only) but are no longer in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from mar_desktop.clock import FakeClock, utc_iso
from mar_desktop.errors import AuthError
from mar_desktop.model import Facility, Role, User
from mar_desktop.people.auth import AuthService, LoginStep
from mar_desktop.people.credentials import CredentialRecord
from mar_desktop.people.passwords import Argon2Parameters, PasswordHashing
from mar_desktop.people.sessions import SessionManager
from mar_desktop.people.statements import AccountRecord
from mar_desktop.people.totp import code_at
from mar_desktop.services.base import Ports
from mar_desktop.services.reference import ReferenceService
from storage.credentials import SqlCredentialStore
from storage.database import connect, database_path
from storage.local_store import LocalStore
from storage.migrate import current_version, latest_version
from tests.storage.helpers import back_to_release

FAST = PasswordHashing(Argon2Parameters(time_cost=1, memory_kib=64, parallelism=1))
OLD_PASSWORD = "lantern above the old mill race"
NEW_PASSWORD = "copper kettle on the north road"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NURSE = User(
    user_id="u-nurse", username="jpark", full_name="Jordan Park", initials="JP",
    credentials="RN", role=Role.NURSE, unit_ids=("east",),
)


def _release_9_tablet(data: Path, key: bytes, clock: FakeClock) -> None:
    """A store as the previous release left it: the account in the ledger, its unsigned
    credential record (password and authenticator set), schema version 9."""
    store = LocalStore.create(data, key, "fac-1", clock)
    try:
        ports = Ports(store.ledger, store.reader, clock)
        reference = ReferenceService(ports)
        reference.configure_facility(
            Facility(facility_id="fac-1", name="Maple Court", timezone="America/Chicago")
        )
        reference.bootstrap_admin(NURSE.model_copy(update={"role": Role.FACILITY_ADMIN}))
        legacy = CredentialRecord(
            user_id=NURSE.user_id,
            version=3,
            password_hash=FAST.hash(OLD_PASSWORD),
            must_change_password=False,
            totp_secret=SECRET,
            totp_enrolled=True,
            change="totp_enrolled",
            updated_at=clock.now(),
            updated_by=NURSE.user_id,
            updated_by_device="older-tablet",
        )
        conn = store.connect_reader()
        try:
            conn.execute(
                "INSERT INTO credential_records (user_id, version, updated_at, updated_by_device,"
                " record, stored_at, source) VALUES (?, ?, ?, ?, ?, ?, 'local')",
                (legacy.user_id, legacy.version, utc_iso(legacy.updated_at),
                 legacy.updated_by_device, legacy.to_canonical(), utc_iso(clock.now())),
            )
        finally:
            conn.close()
    finally:
        store.close()
    back_to_release(database_path(data), key, 9)


def test_an_upgraded_tablet_keeps_signing_in_offline_and_carries_each_account_over(
    tmp_path: Path, db_key: bytes
) -> None:
    clock = FakeClock()
    data = tmp_path / "data"
    _release_9_tablet(data, db_key, clock)
    conn = connect(database_path(data), db_key)
    try:
        assert current_version(conn) == 9
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "account_records" not in tables
    finally:
        conn.close()

    store = LocalStore.open(data, db_key, clock)  # the upgrade: migration 0010
    creds = SqlCredentialStore(store.connect_reader, clock)
    try:
        conn = store.connect_reader()
        try:
            assert current_version(conn) == latest_version()
        finally:
            conn.close()
        legacy = creds.latest(NURSE.user_id)
        assert isinstance(legacy, CredentialRecord) and legacy.version == 3
        facility = store.reader().facility()
        assert facility is not None
        sessions = SessionManager(clock, store.device_id, facility.settings)
        auth = AuthService(Ports(store.ledger, store.reader, clock), creds, sessions, hashing=FAST)

        # no server anywhere: the old password still opens, and a new one is required
        challenge = auth.begin_login(NURSE.username, OLD_PASSWORD)
        assert challenge.step is LoginStep.CHANGE_PASSWORD
        challenge = auth.set_new_password(challenge, NEW_PASSWORD)
        assert challenge.step is LoginStep.ENROL_TOTP  # the unencrypted old secret is retired
        secret = auth.begin_enrolment(challenge).secret
        assert secret != SECRET
        auth.confirm_enrolment(challenge, code_at(secret, clock.now()))
        auth.logout()

        record = creds.latest(NURSE.user_id)
        assert isinstance(record, AccountRecord)
        assert [r.version for r in creds.history(NURSE.user_id)] == [3, 4, 5]
        assert creds.history(NURSE.user_id)[1].change == "legacy_rebound"
        assert record.user_public is not None and record.totp_secret == secret
        clock.advance(60)
        with pytest.raises(AuthError):
            auth.begin_login(NURSE.username, OLD_PASSWORD)
        clock.advance(600)
        challenge = auth.begin_login(NURSE.username, NEW_PASSWORD)
        assert challenge.step is LoginStep.TOTP
        session = auth.submit_totp(challenge, code_at(secret, clock.now()))
        assert session.user.role is Role.FACILITY_ADMIN
    finally:
        creds.close()
        store.close()
