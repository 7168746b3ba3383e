"""Who may change an account, across tablets (issue 22). A rogue enrolled tablet's forged
account record is refused by the server and never reaches another tablet; a facility admin's
changes made on one tablet (co-signed by the server) are honoured on another, offline; a
tablet refuses a forged record that reached it without the server's checks (audit entry,
quarantine, report, and the server raises the alert). Real server, real TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.clock import utc_iso
from mar_desktop.errors import AuthError
from mar_desktop.model import ALL_UNITS, Role, User
from mar_desktop.people import issue
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.auth import AuthService, LoginStep
from mar_desktop.people.passwords import Argon2Parameters, PasswordHashing
from mar_desktop.people.sessions import SessionManager
from mar_desktop.people.statements import AccountRecord
from mar_desktop.people.totp import code_at
from mar_desktop.signing import DeviceSigner
from storage.credentials import SqlCredentialStore
from sync import client as sync_client
from sync.protocol import CredentialItem, CredentialPage
from tests.sync.conftest import Site, start_site, stop_site
from tests.sync.world import ADMIN_PASSWORD, Cart, cart, seed, signed_in_admin

FAST = PasswordHashing(Argon2Parameters(time_cost=1, memory_kib=64, parallelism=1))
TEMP = "temporary-harbour-lantern-42"
OWN = "violet heron above the salt marsh"
ROGUE = "the rogue cart chose this one"
NURSE = User(
    user_id="u-nurse", username="jpark", full_name="Jordan Park", initials="JP",
    credentials="RN", role=Role.NURSE, unit_ids=(ALL_UNITS,),  # units are chosen explicitly
)


class Tab:
    """A cart with its sign-in and account services."""

    def __init__(self, c: Cart) -> None:
        self.c = c
        self.creds = SqlCredentialStore(c.tab.store.connect_reader, c.clock)
        facility = c.tab.store.reader().facility()
        assert facility is not None
        sessions = SessionManager(c.clock, c.tab.store.device_id, facility.settings)
        self.auth = AuthService(c.ports, self.creds, sessions, hashing=FAST)
        self.accounts = AccountService(c.ports, self.creds, FAST, user_key=sessions.user_key)

    def sign_in(self, username: str, password: str, secret: str) -> User:
        self.c.clock.advance(60)
        challenge = self.auth.begin_login(username, password)
        assert challenge.step is LoginStep.TOTP
        return self.auth.submit_totp(challenge, code_at(secret, self.c.clock.now())).user

    def first_sign_in(self, username: str, temp: str, own: str) -> str:
        challenge = self.auth.begin_login(username, temp)
        assert challenge.step is LoginStep.CHANGE_PASSWORD
        challenge = self.auth.set_new_password(challenge, own)
        secret = self.auth.begin_enrolment(challenge).secret
        self.auth.confirm_enrolment(challenge, code_at(secret, self.c.clock.now()))
        self.auth.logout()
        return secret

    def sync(self) -> Any:
        return self.c.tab.engine.sync_once()

    def close(self) -> None:
        self.creds.close()


def _world(tmp_path: Path, cert_files: Path, ca: trustme.CA) -> tuple[Site, Tab, Tab, str]:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    a = cart(site, "cart-a")
    seed(a)
    tab_a = Tab(a)
    signed_in_admin(site, a, tab_a.auth)
    admin_secret = tab_a.creds.latest(tab_a.auth.sessions.current.user.user_id).totp_secret  # type: ignore[union-attr]
    assert admin_secret is not None
    tab_a.sync()
    b = cart(site, "cart-b")
    b.tab.engine.sync_once()
    return site, tab_a, Tab(b), admin_secret


def _insert_bypassing_checks(tab: Tab, record: AccountRecord) -> None:
    """What a rogue tablet can do to its own database: store anything, unchecked."""
    conn = tab.c.tab.store.connect_reader()
    try:
        conn.execute(
            "INSERT INTO account_records (user_id, version, digest, cosigned, record, source,"
            " stored_at) VALUES (?, ?, ?, 0, ?, 'local', ?)",
            (record.user_id, record.version, record.digest(), record.to_canonical(),
             utc_iso(tab.c.clock.now())),
        )
    finally:
        conn.close()


def _alerts(site: Site) -> list[kinds.AlertRaised]:
    server = site.core.store.server_device(site.facility_id)
    assert server is not None
    from mar_desktop.envelope import parse_raw

    found = site.core.store.entries_of_kind(site.facility_id, server.device_id, kinds.ALERT_RAISED)
    bodies = [kinds.AlertRaised.model_validate(parse_raw(e.raw).body) for e in found]
    return [b for b in bodies if b.alert_type == "credential_refused"]


def test_a_rogue_tablets_takeover_never_reaches_another_tablet(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site, tab_a, tab_b, secret = _world(tmp_path, cert_files, ca)
    try:
        admin_id = tab_a.auth.sessions.current.user.user_id  # type: ignore[union-attr]
        tab_a.auth.logout()
        rogue_cart = cart(site, "rogue")
        rogue_cart.tab.engine.sync_once()
        rogue = Tab(rogue_cart)
        held = rogue.creds.latest(admin_id)
        assert isinstance(held, AccountRecord)
        fields, key = issue.key_fields(admin_id, ROGUE, FAST.params)
        fields.pop("bind_public")
        takeover = held.revise(
            change="password_changed", at=rogue.c.clock.now(), by=admin_id,
            device_id=tab_b.c.tab.store.device_id, **fields,
        ).signed(key)
        _insert_bypassing_checks(rogue, takeover)
        report = rogue.sync()
        assert report.credentials_refused == 1 and report.credentials_pushed == 0
        assert len(_alerts(site)) == 1
        for tab in (tab_a, tab_b):
            assert tab.sync().credentials_pulled == 0
            assert tab.creds.latest(admin_id) == held  # nothing new stored
        site.stop_server()  # B offline: the real admin signs in, the rogue's password fails
        with pytest.raises(AuthError):
            tab_b.auth.begin_login("chief", ROGUE)
        tab_b.c.clock.advance(600)
        assert tab_b.sign_in("chief", ADMIN_PASSWORD, secret).role is Role.FACILITY_ADMIN
        rogue.close()
    finally:
        tab_a.close()
        tab_b.close()
        stop_site(site)


def test_an_admins_changes_on_one_tablet_are_honoured_on_another_offline(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site, tab_a, tab_b, _ = _world(tmp_path, cert_files, ca)
    try:
        admin = tab_a.auth.sessions.principal()
        tab_a.accounts.create_user(admin, NURSE, TEMP)
        tab_a.sync()  # the creation is co-signed by the server
        tab_b.sync()
        nurse_secret = tab_b.first_sign_in(NURSE.username, TEMP, OWN)  # on B, offline-capable
        tab_b.sync()
        tab_a.sync()
        # the admin raises the nurse to facility admin, then resets the password, on A
        tab_a.accounts.change_role(admin, NURSE.user_id, Role.FACILITY_ADMIN, "acting manager")
        issued = tab_a.accounts.reset_password(
            admin, NURSE.user_id, "forgotten", "reset words 77 go"
        )
        assert tab_a.sync().credentials_refused == 0
        tab_b.sync()
        site.stop_server()
        with pytest.raises(AuthError):
            tab_b.auth.begin_login(NURSE.username, OWN)  # the old password no longer opens
        tab_b.c.clock.advance(600)
        challenge = tab_b.auth.begin_login(NURSE.username, issued.temporary_password)
        assert challenge.step is LoginStep.CHANGE_PASSWORD
        challenge = tab_b.auth.set_new_password(challenge, "a fresh phrase of my own 9")
        assert challenge.step is LoginStep.TOTP
        session = tab_b.auth.submit_totp(challenge, code_at(nurse_secret, tab_b.c.clock.now()))
        assert session.user.role is Role.FACILITY_ADMIN  # the signed record's role
    finally:
        tab_a.close()
        tab_b.close()
        stop_site(site)


def test_a_tablet_refuses_a_forged_record_that_bypassed_the_server(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server is bypassed (a hostile network path, a compromised server process): B's
    credential feed carries an admin change the server never co-signed. B refuses it, stores
    nothing, audits it, quarantines it and reports it; the server raises the alert."""
    site, tab_a, tab_b, _ = _world(tmp_path, cert_files, ca)
    try:
        admin = tab_a.auth.sessions.principal()
        admin_id = admin.user.user_id
        held = tab_b.creds.latest(admin_id)
        assert isinstance(held, AccountRecord)
        forged = held.revise(
            change="account_changed", at=tab_b.c.clock.now(), by=admin_id, device_id="x",
            active=False,
        ).signed(DeviceSigner.generate())
        real = sync_client.ServerClient.credentials

        def with_forgery(self: sync_client.ServerClient, after: int, limit: int) -> CredentialPage:
            page = real(self, after, limit)
            item = CredentialItem(
                pos=10_000, user_id=admin_id, version=forged.version,
                record=forged.model_dump(mode="json"), stored_at="2026-01-01T00:00:00Z",
            )
            return CredentialPage(items=[*page.items, item], next=10_000, more=False)

        monkeypatch.setattr(sync_client.ServerClient, "credentials", with_forgery)
        report = tab_b.sync()
        assert report.credentials_refused == 1
        assert any("refused as not authorised" in line for line in report.lines())
        assert tab_b.creds.latest(admin_id) == held
        quarantined = tab_b.c.tab.engine.state.quarantined()
        assert [q.code for q in quarantined] == ["credential_refused"]
        conn = tab_b.c.tab.store.connect_reader()
        try:
            kinds_ = [r[0] for r in conn.execute("SELECT kind FROM audit")]
        finally:
            conn.close()
        assert "audit.credential_refused" in kinds_
        assert [a.device_id for a in _alerts(site)] == [tab_b.c.tab.store.device_id]
    finally:
        tab_a.close()
        tab_b.close()
        stop_site(site)
