"""People services on a real encrypted store: accounts, sign-in with TOTP, throttling, sessions,
witness, emergency access, audit log queries — and no secret anywhere it must not be."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from mar_desktop.clock import FakeClock
from mar_desktop.errors import (
    AccountLocked,
    AuthError,
    Conflict,
    MarError,
    PasswordRejected,
    PermissionDenied,
    SessionExpired,
    Throttled,
    ValidationError,
)
from mar_desktop.model import ALL_UNITS, Facility, Role, User
from mar_desktop.people.access import AccessService
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.audit_query import AuditFilter, AuditQueryService
from mar_desktop.people.auth import AuthService, LoginStep
from mar_desktop.people.credentials import CredentialRecord
from mar_desktop.people.factors import Attempt
from mar_desktop.people.passwords import Argon2Parameters, PasswordHashing
from mar_desktop.people.sessions import SessionManager, SessionState
from mar_desktop.people.statements import AccountRecord
from mar_desktop.people.totp import code_at
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.reference import ReferenceService
from storage.credentials import SqlAuditLog, SqlCredentialStore
from storage.local_store import LocalStore
from tests.accounts import Keys

FAST = PasswordHashing(Argon2Parameters(time_cost=1, memory_kib=64, parallelism=1))
ADMIN_PW = "copper kettle on a quiet porch"
ADMIN_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NURSE_TEMP = "temporary-harbour-lantern-42"
NURSE_PW = "violet heron above the salt marsh"
ADMIN = User(
    user_id="u-admin",
    username="admin",
    full_name="Dana Whitfield",
    initials="DW",
    credentials="RN",
    role=Role.FACILITY_ADMIN,
)
NURSE = User(
    user_id="u-nurse",
    username="mortega",
    full_name="Marisol Ortega",
    initials="MO",
    credentials="RN",
    role=Role.NURSE,
    unit_ids=("east",),
)
CNA = User(
    user_id="u-cna",
    username="klambert",
    full_name="Keisha Lambert",
    initials="KL",
    credentials="CNA",
    role=Role.CNA,
    unit_ids=("east",),
)
SURVEYOR = User(
    user_id="u-ro",
    username="hfinch",
    full_name="Harold Finch",
    initials="HF",
    role=Role.READ_ONLY,
)
DON = User(
    user_id="u-don",
    username="dbaker",
    full_name="Dolores Baker",
    initials="DB",
    credentials="RN",
    role=Role.DIRECTOR_OF_NURSING,
)
PHARMACIST = User(
    user_id="u-rph",
    username="rpatel",
    full_name="Ravi Patel",
    initials="RP",
    credentials="PharmD",
    role=Role.PHARMACIST,
)


@dataclass
class World:
    store: LocalStore
    clock: FakeClock
    ports: Ports
    creds: SqlCredentialStore
    accounts: AccountService
    sessions: SessionManager
    auth: AuthService
    access: AccessService
    audit: AuditQueryService
    secrets: dict[str, str] = field(default_factory=dict)  # user id -> TOTP secret
    errors: list[BaseException] = field(default_factory=list)

    @property
    def admin(self) -> Principal:
        return Principal(user=ADMIN, device_id=self.store.device_id)

    def code(self, user_id: str) -> str:
        return code_at(self.secrets[user_id], self.clock.now())

    def next_step(self) -> None:
        """Moves to the next TOTP time step (a code is good once per step)."""
        self.clock.advance(30)

    def expect(self, error: type[BaseException], call: Callable[[], object]) -> BaseException:
        with pytest.raises(error) as caught:
            call()
        self.errors.append(caught.value)
        return caught.value

    def enrol(self, user: User, temp: str, new: str) -> list[str]:
        challenge = self.auth.begin_login(user.username, temp)
        assert challenge.step is LoginStep.CHANGE_PASSWORD
        challenge = self.auth.set_new_password(challenge, new)
        assert challenge.step is LoginStep.ENROL_TOTP
        enrolment = self.auth.begin_enrolment(challenge)
        self.secrets[user.user_id] = enrolment.secret
        done = self.auth.confirm_enrolment(challenge, self.code(user.user_id))
        return list(done.recovery_codes)

    def login(self, user: User, password: str) -> None:
        self.next_step()
        challenge = self.auth.begin_login(user.username, password)
        assert challenge.step is LoginStep.TOTP
        self.auth.submit_totp(challenge, self.code(user.user_id))

    def audit_kinds(self) -> list[str]:
        conn = self.store.connect_reader()
        try:
            return [r[0] for r in conn.execute("SELECT kind FROM audit ORDER BY seq")]
        finally:
            conn.close()

    def add_user(self, user: User, temp: str = NURSE_TEMP, new: str = NURSE_PW) -> list[str]:
        self.accounts.create_user(self.admin, user, temp)
        codes = self.enrol(user, temp, new)
        self.auth.logout()
        return codes


@pytest.fixture
def world(store: LocalStore, fake_clock: FakeClock) -> Iterator[World]:
    ports = Ports(ledger=store.ledger, reader=store.reader, clock=fake_clock)
    reference = ReferenceService(ports)
    reference.configure_facility(
        Facility(facility_id=store.facility_id, name="Maple Court", timezone="America/Chicago")
    )
    reference.bootstrap_admin(ADMIN)
    admin = Principal(user=ADMIN, device_id=store.device_id)
    reference.create_unit(admin, "East Wing", "east")
    reference.create_unit(admin, "West Wing", "west")
    creds = SqlCredentialStore(store.connect_reader, fake_clock)
    keys = Keys()
    accounts = AccountService(ports, creds, FAST, user_key=keys.source)
    accounts.install_credentials(ADMIN.user_id, ADMIN_PW, totp_secret=ADMIN_SECRET)
    keys.open(creds, ADMIN.user_id, ADMIN_PW)
    facility = store.reader().facility()
    assert facility is not None
    sessions = SessionManager(fake_clock, store.device_id, facility.settings)
    auth = AuthService(ports, creds, sessions, hashing=FAST, ip="10.1.2.3")
    log = SqlAuditLog(store.connect_reader)
    built = World(
        store,
        fake_clock,
        ports,
        creds,
        accounts,
        sessions,
        auth,
        AccessService(auth),
        AuditQueryService(ports, log),
    )
    built.secrets[ADMIN.user_id] = ADMIN_SECRET
    try:
        yield built
    finally:
        creds.close()
        log.close()


# ---- accounts ---------------------------------------------------------------------------------
def test_first_login_forces_password_change_and_totp_enrolment(world: World) -> None:
    issued = world.accounts.create_user(world.admin, NURSE)
    assert len(issued.temporary_password) >= 12
    record = world.creds.latest(NURSE.user_id)
    assert record is not None
    assert record.must_change_password
    assert not record.totp_enrolled
    codes = world.enrol(NURSE, issued.temporary_password, NURSE_PW)
    assert len(codes) == 10
    assert world.sessions.principal().user == NURSE
    record = world.creds.latest(NURSE.user_id)
    assert record is not None
    assert not record.must_change_password
    assert record.totp_enrolled
    assert record.recovery_codes_left == 10
    assert [r.version for r in world.creds.history(NURSE.user_id)] == [1, 2, 3]
    kinds = world.audit_kinds()
    for action in ("user_created", "password_changed", "mfa_enrolled", "login"):
        assert f"audit.{action}" in kinds


def test_temporary_password_cannot_be_kept(world: World) -> None:
    world.accounts.create_user(world.admin, NURSE, NURSE_TEMP)
    challenge = world.auth.begin_login(NURSE.username, NURSE_TEMP)
    world.expect(AuthError, lambda: world.auth.set_new_password(challenge, NURSE_TEMP))
    rejected = world.expect(
        PasswordRejected, lambda: world.auth.set_new_password(challenge, "password1234")
    )
    assert isinstance(rejected, PasswordRejected)
    assert rejected.reasons
    # the enrolment step cannot be skipped
    world.expect(AuthError, lambda: world.auth.submit_totp(challenge, "123456"))


def test_account_changes_are_ledger_entries_and_audited_with_before_after(world: World) -> None:
    world.add_user(NURSE)
    world.accounts.change_role(world.admin, NURSE.user_id, Role.CNA, "moved to aide role")
    world.accounts.change_units(world.admin, NURSE.user_id, ["east", "west"], "float nurse")
    world.accounts.deactivate(world.admin, NURSE.user_id, "left the facility")
    user = world.store.reader().user(NURSE.user_id)
    assert user is not None
    assert (user.role, user.unit_ids, user.active) == (Role.CNA, ("east", "west"), False)
    conn = world.store.connect_reader()
    try:
        changes = conn.execute("SELECT count(*) FROM ledger WHERE kind = 'user.changed'")
        assert changes.fetchone()[0] == 3
    finally:
        conn.close()
    records = world.audit.search(
        world.admin, AuditFilter(entity_id=NURSE.user_id, actions=frozenset({"user_changed"}))
    )
    assert len(records) == 3
    deactivation = records[0]
    assert deactivation.before is not None
    assert deactivation.after is not None
    assert deactivation.before["active"] is True
    assert deactivation.after["active"] is False
    assert deactivation.user_id == ADMIN.user_id
    assert deactivation.ip is None or deactivation.ip


def test_non_admin_account_change_refused_audited_and_changes_nothing(world: World) -> None:
    world.add_user(NURSE)
    nurse = Principal(user=NURSE, device_id=world.store.device_id)
    before = world.store.reader().users(include_inactive=True)
    world.expect(
        PermissionDenied,
        lambda: world.accounts.change_role(nurse, NURSE.user_id, Role.FACILITY_ADMIN, "x"),
    )
    world.expect(PermissionDenied, lambda: world.accounts.create_user(nurse, CNA))
    world.expect(PermissionDenied, lambda: world.accounts.reset_mfa(nurse, ADMIN.user_id, "x"))
    assert world.store.reader().users(include_inactive=True) == before
    assert world.creds.latest(CNA.user_id) is None
    assert world.audit_kinds().count("audit.permission_refused") == 3


def test_admin_cannot_lock_out_themselves(world: World) -> None:
    world.expect(Conflict, lambda: world.accounts.deactivate(world.admin, ADMIN.user_id, "x"))
    world.expect(
        Conflict, lambda: world.accounts.change_role(world.admin, ADMIN.user_id, Role.NURSE, "x")
    )


def test_deactivated_user_cannot_sign_in(world: World) -> None:
    world.add_user(NURSE)
    world.accounts.deactivate(world.admin, NURSE.user_id, "left")
    err = world.expect(AuthError, lambda: world.auth.begin_login(NURSE.username, NURSE_PW))
    assert "deactivated" in str(err)


def test_reset_mfa_requires_new_enrolment(world: World) -> None:
    world.add_user(NURSE)
    world.accounts.reset_mfa(world.admin, NURSE.user_id, "lost phone")
    challenge = world.auth.begin_login(NURSE.username, NURSE_PW)
    assert challenge.step is LoginStep.ENROL_TOTP
    assert "audit.mfa_reset" in world.audit_kinds()


# ---- sign-in, TOTP, throttling ----------------------------------------------------------------
def test_totp_replay_refused(world: World) -> None:
    world.add_user(NURSE)
    world.next_step()
    code = world.code(NURSE.user_id)
    world.auth.submit_totp(world.auth.begin_login(NURSE.username, NURSE_PW), code)
    world.auth.logout()
    world.clock.advance(5)  # same 30-second step
    challenge = world.auth.begin_login(NURSE.username, NURSE_PW)
    err = world.expect(AuthError, lambda: world.auth.submit_totp(challenge, code))
    assert "already used" in str(err)
    assert world.creds.throttle_state(NURSE.user_id).failures == 1


def test_signing_in_makes_no_credential_version_and_keeps_the_step_on_this_device(
    world: World,
) -> None:
    """Sign-in state is device-local: an accepted code's step is kept beside the failure
    counters, not in a new credential version that sync would carry to every tablet."""
    world.add_user(NURSE)
    versions = [r.version for r in world.creds.history(NURSE.user_id)]
    for _ in range(3):
        world.next_step()
        code = world.code(NURSE.user_id)
        world.auth.submit_totp(world.auth.begin_login(NURSE.username, NURSE_PW), code)
        world.auth.logout()
    assert [r.version for r in world.creds.history(NURSE.user_id)] == versions
    step = world.creds.last_totp_step(NURSE.user_id)
    assert step is not None
    assert "last_totp_step" not in AccountRecord.model_fields  # the step is in no record
    world.creds.save_totp_step(NURSE.user_id, step - 5)  # a lower step never moves it back
    assert world.creds.last_totp_step(NURSE.user_id) == step


def test_a_step_an_older_tablet_stored_in_the_record_still_counts_as_used(world: World) -> None:
    """Unsigned records written by older tablets carry the last step (change "totp_used"): a
    code of that step is a replay here too (a witness check on such an account), though this
    device never saw it."""
    world.next_step()
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    code = code_at(secret, world.clock.now())
    step = int(world.clock.now().timestamp()) // 30
    world.creds.store_legacy(
        CredentialRecord(
            user_id=NURSE.user_id,
            version=2,
            password_hash=FAST.hash(NURSE_PW),
            must_change_password=False,
            totp_secret=secret,
            totp_enrolled=True,
            last_totp_step=step,
            change="totp_used",
            updated_at=world.clock.now(),
            updated_by=NURSE.user_id,
            updated_by_device="older-tablet",
        )
    )
    attempt = Attempt("witness")
    err = world.expect(AuthError, lambda: world.auth.factors.check_totp(NURSE, code, attempt))
    assert "already used" in str(err)


def test_unknown_user_and_wrong_password_look_the_same(world: World) -> None:
    a = world.expect(AuthError, lambda: world.auth.begin_login("nobody", "whatever it is"))
    b = world.expect(AuthError, lambda: world.auth.begin_login(ADMIN.username, "wrong password"))
    assert str(a) == str(b)
    assert world.audit_kinds().count("audit.login_failed") == 2


def test_wrong_totp_counts_toward_throttle_then_lockout(world: World) -> None:
    for attempt in range(1, 11):
        challenge = world.auth.begin_login(ADMIN.username, ADMIN_PW)
        error = AccountLocked if attempt == 10 else AuthError
        world.expect(error, lambda c=challenge: world.auth.submit_totp(c, "000000"))  # type: ignore[misc]
        if 5 <= attempt < 10:
            world.expect(Throttled, lambda: world.auth.begin_login(ADMIN.username, ADMIN_PW))
            world.clock.advance(2 ** (attempt - 4))
    world.expect(AccountLocked, lambda: world.auth.begin_login(ADMIN.username, ADMIN_PW))
    kinds = world.audit_kinds()
    assert kinds.count("audit.login_failed") == 10
    assert "audit.locked_out" in kinds
    assert "audit.throttled" in kinds


def test_password_success_does_not_reset_counter_but_full_login_does(world: World) -> None:
    for _ in range(3):
        challenge = world.auth.begin_login(ADMIN.username, ADMIN_PW)
        world.expect(AuthError, lambda c=challenge: world.auth.submit_totp(c, "000000"))  # type: ignore[misc]
    assert world.creds.throttle_state(ADMIN.user_id).failures == 3
    world.login(ADMIN, ADMIN_PW)
    assert world.creds.throttle_state(ADMIN.user_id).failures == 0


def lock_out(world: World, user: User) -> None:
    for n in range(1, 11):
        world.expect(AuthError, lambda: world.auth.begin_login(user.username, "not it at all"))
        world.clock.advance(world.auth.factors.policy.delay_after(n) if n < 10 else 0)


def test_locked_account_released_by_admin_unlock(world: World) -> None:
    world.add_user(NURSE)
    lock_out(world, NURSE)
    world.expect(AccountLocked, lambda: world.auth.begin_login(NURSE.username, NURSE_PW))
    world.accounts.unlock(world.admin, NURSE.user_id)
    world.login(NURSE, NURSE_PW)
    assert world.sessions.principal().user == NURSE
    assert "audit.unlocked" in world.audit_kinds()


def test_locked_account_released_after_timed_release(world: World) -> None:
    lock_out(world, ADMIN)
    world.clock.advance(timedelta(minutes=29))
    world.expect(AccountLocked, lambda: world.auth.begin_login(ADMIN.username, ADMIN_PW))
    world.clock.advance(timedelta(minutes=1, seconds=1))
    world.login(ADMIN, ADMIN_PW)


def test_lockout_survives_a_restart_of_the_services(world: World) -> None:
    lock_out(world, ADMIN)
    fresh = SqlCredentialStore(world.store.connect_reader, world.clock)
    try:
        assert fresh.throttle_state(ADMIN.user_id).locked
    finally:
        fresh.close()


def test_recovery_code_works_once(world: World) -> None:
    codes = world.add_user(NURSE)
    challenge = world.auth.begin_login(NURSE.username, NURSE_PW)
    world.auth.submit_recovery_code(challenge, codes[0].lower())
    assert world.sessions.principal().user == NURSE
    world.auth.logout()
    challenge = world.auth.begin_login(NURSE.username, NURSE_PW)
    world.expect(AuthError, lambda: world.auth.submit_recovery_code(challenge, codes[0]))
    world.auth.submit_recovery_code(challenge, codes[1])
    record = world.creds.latest(NURSE.user_id)
    assert record is not None
    assert record.recovery_codes_left == 8
    assert world.audit_kinds().count("audit.recovery_code_used") == 2


def test_challenge_expires(world: World) -> None:
    challenge = world.auth.begin_login(ADMIN.username, ADMIN_PW)
    world.clock.advance(301)
    world.expect(SessionExpired, lambda: world.auth.submit_totp(challenge, world.code("u-admin")))


# ---- sessions ---------------------------------------------------------------------------------
def test_inactivity_lock_then_unlock_with_password_audited(world: World) -> None:
    world.login(ADMIN, ADMIN_PW)
    world.clock.advance(300)
    world.sessions.tick()
    assert world.sessions.state is SessionState.LOCKED
    world.expect(AuthError, lambda: world.auth.unlock("wrong password here"))
    world.auth.unlock(ADMIN_PW)
    assert world.sessions.state is SessionState.ACTIVE
    kinds = world.audit_kinds()
    assert "audit.session_locked" in kinds
    assert "audit.session_unlocked" in kinds


def test_reauthentication_every_twelve_hours(world: World) -> None:
    world.login(ADMIN, ADMIN_PW)
    for _ in range(12 * 4):
        world.clock.advance(timedelta(minutes=15))
        if world.sessions.state is SessionState.ACTIVE:
            world.sessions.touch()
    assert world.sessions.state is SessionState.REAUTH_REQUIRED
    world.expect(SessionExpired, lambda: world.auth.unlock(ADMIN_PW))
    world.next_step()
    world.auth.reauthenticate(ADMIN_PW, world.code(ADMIN.user_id))
    assert world.sessions.state is SessionState.ACTIVE
    assert "audit.reauthenticated" in world.audit_kinds()


def test_another_user_signing_in_ends_the_first_session(world: World) -> None:
    world.add_user(NURSE)
    world.login(ADMIN, ADMIN_PW)
    world.login(NURSE, NURSE_PW)
    assert world.sessions.principal().user == NURSE
    assert world.audit_kinds().count("audit.logout") >= 2


def test_nothing_resumes_after_restart(tmp_path: Path, db_key: bytes) -> None:
    clock = FakeClock()
    data = tmp_path / "restart"
    store = LocalStore.create(data, db_key, "fac-9", clock)
    sessions = SessionManager(clock, store.device_id)
    sessions.start(ADMIN)
    assert not sessions.is_locked()
    store.close()
    reopened = LocalStore.open(data, db_key, clock)
    try:
        after_restart = SessionManager(clock, reopened.device_id)
        assert after_restart.current is None
        assert after_restart.is_locked()
        with pytest.raises(SessionExpired):
            after_restart.principal()
    finally:
        reopened.close()


# ---- witness and emergency access -------------------------------------------------------------
def test_witness_rules(world: World) -> None:
    world.add_user(NURSE)
    world.accounts.create_user(world.admin, CNA, NURSE_TEMP)
    world.enrol(CNA, NURSE_TEMP, "quiet orchard with seven blue bicycles")
    world.auth.logout()
    world.login(NURSE, NURSE_PW)
    world.next_step()
    err = world.expect(
        AuthError,
        lambda: world.access.witness_sign_in(NURSE.username, NURSE_PW, world.code("u-nurse")),
    )
    assert "different person" in str(err)
    err = world.expect(
        AuthError,
        lambda: world.access.witness_sign_in(
            CNA.username, "quiet orchard with seven blue bicycles", world.code("u-cna")
        ),
    )
    assert "licensed" in str(err)
    attestation = world.access.witness_sign_in(ADMIN.username, ADMIN_PW, world.code("u-admin"))
    assert attestation.user_id == ADMIN.user_id
    assert attestation.method == "password+totp"
    assert attestation.authenticated_at == world.clock.now()
    assert world.sessions.principal().user == NURSE  # the witness did not take over
    world.next_step()
    world.expect(
        AuthError,
        lambda: world.access.witness_sign_in(ADMIN.username, "wrong witness pw", "123456"),
    )
    kinds = world.audit_kinds()
    assert "audit.witness_signed" in kinds
    assert kinds.count("audit.witness_failed") >= 3


def test_locked_or_inactive_witness_refused(world: World) -> None:
    world.add_user(NURSE)
    nurse2 = NURSE.model_copy(
        update={
            "user_id": "u-n2",
            "username": "tbrandt",
            "full_name": "Tobias Brandt",
            "initials": "TB",
        }
    )
    world.add_user(nurse2, new="seven herons fishing at dawn today")
    world.login(NURSE, NURSE_PW)
    lock_out_witness = world.access.witness_sign_in
    for n in range(1, 11):
        world.expect(AuthError, lambda: lock_out_witness(nurse2.username, "nope nope", "000000"))
        world.clock.advance(world.auth.factors.policy.delay_after(n) if n < 10 else 0)
        world.sessions.touch()
    world.next_step()
    world.expect(
        AccountLocked,
        lambda: lock_out_witness(
            nurse2.username, "seven herons fishing at dawn today", world.code("u-n2")
        ),
    )
    world.accounts.unlock(world.admin, nurse2.user_id)
    world.accounts.deactivate(world.admin, nurse2.user_id, "left")
    world.next_step()
    world.sessions.touch()
    err = world.expect(
        AuthError,
        lambda: lock_out_witness(
            nurse2.username, "seven herons fishing at dawn today", world.code("u-n2")
        ),
    )
    assert "deactivated" in str(err)


def test_emergency_access_expires_by_itself_and_is_audited(world: World) -> None:
    world.add_user(NURSE)
    world.login(NURSE, NURSE_PW)
    principal = world.sessions.principal()
    assert not principal.may_see_unit("west", world.clock.now())
    world.expect(ValidationError, lambda: world.access.start_emergency_access("  ", ["west"]))
    grant = world.access.start_emergency_access("Resident fall, covering West", ["west"])
    assert world.sessions.principal().may_see_unit("west", world.clock.now())
    session = world.sessions.current
    assert session is not None
    assert session.emergency == grant
    world.clock.advance(timedelta(minutes=60))
    world.sessions.tick()
    assert session.emergency is None  # lapsed by itself on the clock
    assert not session.principal.may_see_unit("west", world.clock.now())
    kinds = world.audit_kinds()
    assert "audit.emergency_access" in kinds
    assert "audit.emergency_access_ended" in kinds
    records = world.audit.search(world.admin, AuditFilter(actions=frozenset({"emergency_access"})))
    assert records[0].detail == "Resident fall, covering West"
    assert records[0].after is not None
    assert records[0].after["unit_ids"] == ["west"]


def test_emergency_access_refused_for_cna_and_audited(world: World) -> None:
    world.accounts.create_user(world.admin, CNA, NURSE_TEMP)
    world.enrol(CNA, NURSE_TEMP, "quiet orchard with seven blue bicycles")
    world.expect(PermissionDenied, lambda: world.access.start_emergency_access("need", None))
    session = world.sessions.current
    assert session is not None
    assert session.emergency is None
    assert "audit.permission_refused" in world.audit_kinds()


# ---- audit query --------------------------------------------------------------------------------
def test_audit_query_filters_and_permission(world: World) -> None:
    start = world.clock.now()
    world.add_user(NURSE)
    world.clock.advance(timedelta(hours=1))
    middle = world.clock.now()
    world.login(ADMIN, ADMIN_PW)
    by_nurse = world.audit.search(world.admin, AuditFilter(user_id=NURSE.user_id))
    assert by_nurse
    assert all(r.user_id == NURSE.user_id for r in by_nurse)
    logins = world.audit.search(world.admin, AuditFilter(actions=frozenset({"login"})))
    assert [r.user_id for r in logins] == [ADMIN.user_id, NURSE.user_id]  # newest first
    early = world.audit.search(world.admin, AuditFilter(since=start, until=middle))
    assert early
    assert all(r.recorded_at < middle.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for r in early)
    assert all(r.action != "login" or r.user_id == NURSE.user_id for r in early)
    nurse = Principal(user=NURSE, device_id=world.store.device_id)
    world.expect(PermissionDenied, lambda: world.audit.search(nurse, AuditFilter()))
    surveyor = Principal(user=SURVEYOR, device_id=world.store.device_id)
    assert world.audit.search(surveyor, AuditFilter(limit=5))
    assert "audit.audit_viewed" in world.audit_kinds()


def test_audit_search_hands_its_filters_and_limit_to_the_log(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log, not the service, filters and limits: the service used to read the whole log
    (a year: 243k entries, ~800 MB, 7.5 s) to keep ``limit`` rows."""
    world.add_user(NURSE)
    world.login(ADMIN, ADMIN_PW)
    log = world.audit._log  # type: ignore[attr-defined]
    asked: list[dict[str, object]] = []
    real = log.audit_entries

    def recording(**options: object) -> object:
        asked.append(options)
        return real(**options)

    monkeypatch.setattr(log, "audit_entries", recording)
    found = world.audit.search(
        world.admin,
        AuditFilter(user_id=ADMIN.user_id, entity_type="user", entity_id=NURSE.user_id, limit=1),
    )
    assert asked[0]["limit"] == 1
    assert (asked[0]["user_id"], asked[0]["entity_type"], asked[0]["entity_id"]) == (
        ADMIN.user_id, "user", NURSE.user_id
    )
    # the admin made the nurse's account: the newest such event, and only it
    assert [(r.user_id, r.entity_type, r.entity_id) for r in found] == [
        (ADMIN.user_id, "user", NURSE.user_id)
    ]


# ---- no secret anywhere -------------------------------------------------------------------------
def _present(needle: str, haystack: str) -> bool:
    if needle.isdigit():  # a TOTP code: only as a number of its own, not inside hex or ids
        return re.search(rf"(?<![0-9a-fA-F]){needle}(?![0-9a-fA-F])", haystack) is not None
    return needle.lower() in haystack.lower()


def test_no_secret_in_ledger_audit_logs_or_errors(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    codes = world.add_user(NURSE)
    secret = world.secrets[NURSE.user_id]
    # a sign-in with the current code, a replay of it, wrong factors, a recovery code, a lock
    world.next_step()
    current = world.code(NURSE.user_id)
    world.auth.submit_totp(world.auth.begin_login(NURSE.username, NURSE_PW), current)
    world.auth.logout()
    challenge = world.auth.begin_login(NURSE.username, NURSE_PW)
    world.expect(AuthError, lambda: world.auth.submit_totp(challenge, current))
    world.auth.submit_recovery_code(challenge, codes[0])
    world.expect(AuthError, lambda: world.auth.begin_login(NURSE.username, NURSE_PW + "x"))
    world.expect(AuthError, lambda: world.auth.begin_login(NURSE_PW, NURSE_PW))  # pw as name
    world.expect(PasswordRejected, lambda: world.auth.change_password(NURSE_PW, "password1234"))
    world.expect(AuthError, lambda: world.auth.change_password("violet", NURSE_PW + " too"))
    world.expect(
        AuthError,
        lambda: world.access.witness_sign_in(ADMIN.username, NURSE_PW, current),
    )
    secrets = {
        "password": NURSE_PW,
        "temporary password": NURSE_TEMP,
        "TOTP secret": secret,
        "current code": current,
        "recovery code (used)": codes[0],
        "recovery code (unused)": codes[1],
        "recovery code (compact)": codes[1].replace("-", ""),
    }
    # every table but the credential records, decrypted, every cell as text
    conn = world.store.connect_reader()
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in ("credential_records", "account_records")
        ]
        assert {"ledger", "audit"} <= set(tables)
        dumps = []
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                dumps.append(
                    " ".join(
                        bytes(c).decode("utf-8", "replace") if isinstance(c, bytes) else str(c)
                        for c in row
                    )
                )
    finally:
        conn.close()
    places = {
        "database (all tables but credentials)": "\n".join(dumps),
        "logs": "\n".join(r.getMessage() for r in caplog.records) + caplog.text,
        "errors": "\n".join(f"{e!s} {e!r} {getattr(e, 'reasons', '')}" for e in world.errors),
    }
    assert len(world.errors) >= 6
    assert all(isinstance(e, MarError) for e in world.errors)
    for place, text in places.items():
        for name, value in secrets.items():
            assert not _present(value, text), f"{name} found in {place}"
    # and the credential table does hold them, hashed or as the one secret it must keep
    record = world.creds.latest(NURSE.user_id)
    assert record is not None
    assert record.totp_secret == secret
    assert isinstance(record, AccountRecord)
    assert NURSE_PW not in record.to_canonical().decode()
    assert secret not in repr(record)


# ---- role x action matrix of the people services -----------------------------------------------
ROLE_USERS = {
    Role.FACILITY_ADMIN: ADMIN,
    Role.NURSE: NURSE,
    Role.CNA: CNA,
    Role.READ_ONLY: SURVEYOR,
    Role.DIRECTOR_OF_NURSING: DON,
    Role.PHARMACIST: PHARMACIST,
}
ACCOUNT_ACTIONS: dict[str, Callable[[World, Principal], object]] = {
    "create_user": lambda w, p: w.accounts.create_user(
        p,
        User(
            user_id="u-new",
            username="newbie",
            full_name="New Person",
            initials="NP",
            role=Role.CNA,
            unit_ids=("east",),
        ),
    ),
    "change_role": lambda w, p: w.accounts.change_role(p, "u-target", Role.NURSE, "r"),
    "change_units": lambda w, p: w.accounts.change_units(p, "u-target", ["west"], "r"),
    "deactivate": lambda w, p: w.accounts.deactivate(p, "u-target", "r"),
    "unlock": lambda w, p: w.accounts.unlock(p, "u-target"),
    "reset_mfa": lambda w, p: w.accounts.reset_mfa(p, "u-target", "r"),
    "reset_password": lambda w, p: w.accounts.reset_password(p, "u-target", "r"),
    "view_audit": lambda w, p: w.audit.search(p, AuditFilter(limit=1)),
}
ALLOWED = {
    Role.FACILITY_ADMIN: set(ACCOUNT_ACTIONS),
    Role.NURSE: set(),
    Role.CNA: set(),
    Role.READ_ONLY: {"view_audit"},
    Role.DIRECTOR_OF_NURSING: set(),  # no staff accounts (one role per account)
    Role.PHARMACIST: set(),
}


@pytest.mark.parametrize("action", sorted(ACCOUNT_ACTIONS))
@pytest.mark.parametrize("role", list(Role))
def test_role_action_matrix(world: World, role: Role, action: str) -> None:
    target = CNA.model_copy(update={"user_id": "u-target", "username": "target"})
    world.accounts.create_user(world.admin, target, NURSE_TEMP)
    principal = Principal(user=ROLE_USERS[role], device_id=world.store.device_id)
    refusals = world.audit_kinds().count("audit.permission_refused")
    before = world.store.reader().users(include_inactive=True)
    if action in ALLOWED[role]:
        ACCOUNT_ACTIONS[action](world, principal)
    else:
        world.expect(PermissionDenied, lambda: ACCOUNT_ACTIONS[action](world, principal))
        assert world.store.reader().users(include_inactive=True) == before
        assert world.audit_kinds().count("audit.permission_refused") == refusals + 1


@pytest.mark.parametrize(
    "role", [Role.NURSE, Role.DIRECTOR_OF_NURSING, Role.CNA, Role.PHARMACIST, Role.READ_ONLY]
)
def test_witness_by_role(world: World, role: Role) -> None:
    user = ROLE_USERS[role]
    world.add_user(user)
    world.login(ADMIN, ADMIN_PW)
    world.next_step()

    def witness() -> object:
        return world.access.witness_sign_in(user.username, NURSE_PW, world.code(user.user_id))

    if role in (Role.NURSE, Role.DIRECTOR_OF_NURSING):
        assert witness() is not None
    else:
        assert "licensed" in str(world.expect(AuthError, witness))


@pytest.mark.parametrize("role", list(Role))
def test_emergency_access_by_role(world: World, role: Role) -> None:
    user = ROLE_USERS[role]
    if user is ADMIN:
        world.login(ADMIN, ADMIN_PW)
    else:
        world.add_user(user)
        world.login(user, NURSE_PW)
    if role in (Role.FACILITY_ADMIN, Role.NURSE, Role.DIRECTOR_OF_NURSING):
        assert world.access.start_emergency_access("covering", ["west"]).unit_ids == {"west"}
    else:
        world.expect(PermissionDenied, lambda: world.access.start_emergency_access("x", None))


# ---- unit assignment: named units, or "all units" by choice; empty is none ------------------
def newcomer(role: Role, *units: str) -> User:
    return User(user_id="u-new", username="newbie", full_name="New Person", initials="NP",
                role=role, unit_ids=units)


@pytest.mark.parametrize("role", [Role.NURSE, Role.CNA])
def test_a_new_nurse_or_cna_without_a_unit_choice_is_refused(world: World, role: Role) -> None:
    before = world.store.reader().users(include_inactive=True)
    with pytest.raises(ValidationError, match="All units"):
        world.accounts.create_user(world.admin, newcomer(role))
    assert world.store.reader().users(include_inactive=True) == before
    assert world.creds.latest("u-new") is None


def test_all_units_is_a_choice_that_opens_every_unit(world: World) -> None:
    issued = world.accounts.create_user(world.admin, newcomer(Role.NURSE, ALL_UNITS))
    stored = world.store.reader().user("u-new")
    assert stored is not None and stored.all_units and stored.unit_ids == (ALL_UNITS,)
    principal = Principal(user=issued.user, device_id=world.store.device_id)
    assert principal.may_see_unit("east") and principal.may_see_unit("west")


@pytest.mark.parametrize("role", [Role.FACILITY_ADMIN, Role.READ_ONLY])
def test_roles_that_see_every_unit_need_no_choice(world: World, role: Role) -> None:
    issued = world.accounts.create_user(world.admin, newcomer(role))
    assert Principal(user=issued.user, device_id="d").unit_scope() is None


def test_units_cannot_be_changed_to_none_for_a_unit_scoped_role(world: World) -> None:
    world.accounts.create_user(world.admin, newcomer(Role.CNA, "east"))
    with pytest.raises(ValidationError, match="All units"):
        world.accounts.change_units(world.admin, "u-new", [], "moved")
    changed = world.accounts.change_units(world.admin, "u-new", [ALL_UNITS], "floats")
    assert changed.all_units
    with pytest.raises(ValidationError):  # all units, or named units: not both
        world.accounts.change_units(world.admin, "u-new", [ALL_UNITS, "east"], "both")


def test_the_all_units_id_cannot_be_a_real_unit(world: World) -> None:
    reference = ReferenceService(world.ports)
    with pytest.raises(ValidationError, match="reserved"):
        reference.create_unit(world.admin, "Everywhere", ALL_UNITS)
