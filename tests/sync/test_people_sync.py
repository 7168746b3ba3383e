"""People across tablets: a user created and enrolled on tablet A signs in on tablet B while B is
OFFLINE, after one sync of A and then B; a password change on B reaches A. Real server, real TLS.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import trustme

from mar_desktop.errors import AuthError
from mar_desktop.model import ALL_UNITS, Role, User
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.auth import AuthService, LoginStep
from mar_desktop.people.passwords import Argon2Parameters, PasswordHashing
from mar_desktop.people.sessions import SessionManager
from mar_desktop.people.totp import code_at
from storage.credentials import SqlCredentialStore
from tests.sync.conftest import restart_site, start_site, stop_site
from tests.sync.world import Cart, cart, seed, signed_in_admin

FAST = PasswordHashing(Argon2Parameters(time_cost=1, memory_kib=64, parallelism=1))
TEMP = "temporary-harbour-lantern-42"
FIRST = "violet heron above the salt marsh"
SECOND = "granite owl beneath the cedar bridge"
NEWCOMER = User(
    user_id="u-newcomer",
    username="jpark",
    full_name="Jordan Park",
    initials="JP",
    credentials="RN",
    role=Role.NURSE,
    unit_ids=(ALL_UNITS,),
)


def _auth(c: Cart) -> tuple[AuthService, SqlCredentialStore]:
    creds = SqlCredentialStore(c.tab.store.connect_reader, c.clock)
    facility = c.tab.store.reader().facility()
    assert facility is not None
    sessions = SessionManager(c.clock, c.tab.store.device_id, facility.settings)
    return AuthService(c.ports, creds, sessions, hashing=FAST), creds


def test_user_made_on_one_tablet_signs_in_offline_on_another_and_password_changes_travel(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    a = cart(site, "cart-a")
    seed(a)
    auth_a, creds_a = _auth(a)
    try:
        # On A: the admin (mar-server init's, signed in there) creates the account; the user
        # signs in there for the first time (forced password change, TOTP enrolment).
        admin = signed_in_admin(site, a, auth_a)
        _accounts(a, creds_a, auth_a).create_user(admin, NEWCOMER, TEMP)
        challenge = auth_a.begin_login(NEWCOMER.username, TEMP)
        assert challenge.step is LoginStep.CHANGE_PASSWORD
        challenge = auth_a.set_new_password(challenge, FIRST)
        enrolment = auth_a.begin_enrolment(challenge)
        secret = enrolment.secret
        auth_a.confirm_enrolment(challenge, code_at(secret, a.clock.now()))
        auth_a.logout()

        # One sync of A, then of B (a new tablet: its first sync bootstraps everything).
        a.tab.engine.sync_once()
        b = cart(site, "cart-b")
        b.tab.engine.sync_once()

        # B goes offline (the server stops), then the user signs in on B.
        site.stop_server()
        auth_b, creds_b = _auth(b)
        b.clock.advance(60)  # the next TOTP time step: a code is good once per step
        with pytest.raises(AuthError):
            auth_b.begin_login(NEWCOMER.username, TEMP)  # the temporary password is spent
        challenge = auth_b.begin_login(NEWCOMER.username, FIRST)
        assert challenge.step is LoginStep.TOTP
        session = auth_b.submit_totp(challenge, code_at(secret, b.clock.now()))
        assert session.user.user_id == NEWCOMER.user_id

        # Back online: a password change on B reaches A.
        restart_site(site, cert_files)
        auth_b.change_password(FIRST, SECOND)
        auth_b.logout()
        b.tab.engine.sync_once()
        a.tab.engine.sync_once()
        assert a.tab.engine.status.current.state == "online"
        a.clock.advance(120)
        with pytest.raises(AuthError):
            auth_a.begin_login(NEWCOMER.username, FIRST)
        a.clock.advance(600)  # past any throttle delay of the refused attempt
        challenge = auth_a.begin_login(NEWCOMER.username, SECOND)
        assert challenge.step is LoginStep.TOTP
        auth_a.submit_totp(challenge, code_at(secret, a.clock.now()))
        creds_b.close()
    finally:
        creds_a.close()
        stop_site(site)


def _accounts(c: Cart, creds: SqlCredentialStore, auth: AuthService) -> AccountService:
    return AccountService(c.ports, creds, FAST, user_key=auth.sessions.user_key)


LATER = NEWCOMER.model_copy(
    update={"user_id": "u-later", "username": "mlopez", "full_name": "Mara Lopez"}
)


def test_credentials_a_restored_server_lost_are_sent_again(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    """A server restored from a backup older than a password change: the tablet that made it
    sees the rewound feed at its next sync and sends its credential versions again, so a new
    tablet bootstrapped afterwards signs the user in with the changed password, offline. (The
    push cursor used to stay past them: the change was lost for every other tablet.)"""
    db = tmp_path / "server.sqlite3"
    site = start_site(tmp_path, str(db), cert_files, ca)
    a = cart(site, "cart-a")
    seed(a)
    auth_a, creds_a = _auth(a)
    admin_auth, admin_creds = _auth(a)  # the admin's session stays open beside the user's
    try:
        admin = signed_in_admin(site, a, admin_auth)
        accounts = _accounts(a, admin_creds, admin_auth)
        accounts.create_user(admin, NEWCOMER, TEMP)
        a.tab.engine.sync_once()

        site.stop_server()  # the backup: a copy of the database file while the server is down
        backup = tmp_path / "backup.sqlite3"
        shutil.copyfile(db, backup)
        restart_site(site, cert_files)

        # After the backup: the first sign-in changes the password (new credential versions)
        # and another account is made (a ledger entry past the backup's feed); A syncs both.
        challenge = auth_a.begin_login(NEWCOMER.username, TEMP)
        challenge = auth_a.set_new_password(challenge, FIRST)
        enrolment = auth_a.begin_enrolment(challenge)
        auth_a.confirm_enrolment(challenge, code_at(enrolment.secret, a.clock.now()))
        auth_a.logout()
        accounts.create_user(admin, LATER, TEMP)
        a.tab.engine.sync_once()

        site.stop_server()  # the restore: the older copy put back
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(backup, db)
        restart_site(site, cert_files)

        report = a.tab.engine.sync_once()
        assert report.server_lost
        assert report.credentials_pushed > 0
        assert any("credentials was sent again" in line for line in report.lines())
        b = cart(site, "cart-b")
        b.tab.engine.sync_once()
        site.stop_server()  # B offline
        auth_b, creds_b = _auth(b)
        b.clock.advance(60)
        try:
            challenge = auth_b.begin_login(NEWCOMER.username, FIRST)
            assert challenge.step is LoginStep.TOTP
            auth_b.submit_totp(challenge, code_at(enrolment.secret, b.clock.now()))
        finally:
            creds_b.close()
    finally:
        creds_a.close()
        admin_creds.close()
        stop_site(site)


def test_the_same_nurse_signing_in_on_two_tablets_between_syncs_is_no_conflict(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    """Signing in writes only device-local state: two tablets that each sign the same user in
    between syncs have no credential version to send, so nothing conflicts and no audit entry
    about credentials is made."""
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    a = cart(site, "cart-a")
    seed(a)
    auth_a, creds_a = _auth(a)
    try:
        admin = signed_in_admin(site, a, auth_a)
        _accounts(a, creds_a, auth_a).create_user(admin, NEWCOMER, TEMP)
        challenge = auth_a.set_new_password(auth_a.begin_login(NEWCOMER.username, TEMP), FIRST)
        secret = auth_a.begin_enrolment(challenge).secret
        auth_a.confirm_enrolment(challenge, code_at(secret, a.clock.now()))
        auth_a.logout()
        a.tab.engine.sync_once()
        b = cart(site, "cart-b")
        b.tab.engine.sync_once()
        auth_b, creds_b = _auth(b)
        try:
            for clock, auth in ((a.clock, auth_a), (b.clock, auth_b)):
                clock.advance(60)
                challenge = auth.begin_login(NEWCOMER.username, FIRST)
                auth.submit_totp(challenge, code_at(secret, clock.now()))
                auth.logout()
            for tab in (a.tab, b.tab, a.tab):
                report = tab.engine.sync_once()
                assert report.credential_conflicts == 0
                assert report.credentials_pushed == 0 and report.credentials_pulled == 0
            assert [r.version for r in creds_a.history(NEWCOMER.user_id)] == [
                r.version for r in creds_b.history(NEWCOMER.user_id)
            ]
        finally:
            creds_b.close()
    finally:
        creds_a.close()
        stop_site(site)
