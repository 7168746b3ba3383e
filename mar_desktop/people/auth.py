"""Signing in on this device: password, then TOTP (or a recovery code); first sign-in forces a
new password and TOTP enrolment. Also unlock, 12-hour re-authentication, logout and changing
one's own password.

Flow: :meth:`AuthService.begin_login` checks the password and returns a :class:`LoginChallenge`
naming the next step — ``change_password`` (temporary password), ``enrol_totp`` (no
authenticator yet) or ``totp``. The challenge lives only in this object's memory for
``challenge_seconds`` (5 min). When the last step succeeds the throttle counters reset and
:class:`~mar_desktop.people.sessions.SessionManager` starts the session.

The offline limit (:mod:`mar_desktop.people.offline`, the session manager's ``offline``): on a
revoked tablet sign-in is refused before any factor is checked; past the limit it is refused
after both factors (:class:`~mar_desktop.errors.OfflineLimitReached` carrying a
``break_glass`` challenge, audited as ``offline_limit_refused``), and
:meth:`AuthService.break_glass` then starts the session with a stated reason, for a role allowed
emergency access (audited as ``offline_break_glass``), for the facility's emergency minutes.

Every session transition (sign-in, lock, unlock, re-auth due/done, emergency access start and
end, logout, replacement by another user) is written to the audit chain by the observer this
service subscribes to its session manager; failures and lockouts are audited by
:class:`~mar_desktop.people.factors.Factors`. Worker thread; session observers run on whichever
thread caused the transition (including the UI's timer calling ``tick``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from mar_desktop import audit
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR, Actor, EntryDraft
from mar_desktop.errors import AuthError, OfflineLimitReached, PermissionDenied, SessionExpired
from mar_desktop.model import User
from mar_desktop.people import issue, recovery, throttle, userkeys
from mar_desktop.people.credentials import RecoverySlot
from mar_desktop.people.factors import Attempt, Factors, PasswordChecked
from mar_desktop.people.offline import OfflineState, OfflineStatus
from mar_desktop.people.passwords import PasswordHashing, PasswordPolicy
from mar_desktop.people.ports import CredentialStore
from mar_desktop.people.sessions import Session, SessionEvent, SessionEventKind, SessionManager
from mar_desktop.people.statements import AccountRecord
from mar_desktop.people.totp import DEFAULT_ISSUER, TotpEnrolment, TotpOutcome, check_code
from mar_desktop.permissions import Permission, allowed
from mar_desktop.services.base import Ports, Service, nonblank
from mar_desktop.signing import DeviceSigner

_REFUSALS = {
    OfflineState.REVOKED: "the tablet is revoked",
    OfflineState.UPDATE_REQUIRED: "the server refuses this app version",
}

_SESSION_ACTIONS = {
    SessionEventKind.STARTED: audit.LOGIN,
    SessionEventKind.LOCKED: audit.SESSION_LOCKED,
    SessionEventKind.UNLOCKED: audit.SESSION_UNLOCKED,
    SessionEventKind.REAUTH_REQUIRED: audit.REAUTH_REQUIRED,
    SessionEventKind.REAUTHENTICATED: audit.REAUTHENTICATED,
    SessionEventKind.EMERGENCY_STARTED: audit.EMERGENCY_ACCESS,
    SessionEventKind.EMERGENCY_ENDED: audit.EMERGENCY_ACCESS_ENDED,
    SessionEventKind.ENDED: audit.LOGOUT,
}


class LoginStep(StrEnum):
    CHANGE_PASSWORD = "change_password"  # noqa: S105 (a step name)
    ENROL_TOTP = "enrol_totp"
    TOTP = "totp"
    BREAK_GLASS = "break_glass"
    """Both factors passed, but the tablet is past its offline limit: see ``break_glass``."""


@dataclass(frozen=True, slots=True)
class LoginChallenge:
    """A half-finished sign-in: who, and what must happen next."""

    token: str = field(repr=False)
    user: User
    step: LoginStep


@dataclass(frozen=True, slots=True)
class EnrolmentComplete:
    """The session that started and the recovery codes to show once (then forget)."""

    session: Session
    recovery_codes: tuple[str, ...] = field(repr=False)


@dataclass
class _Pending:
    user_id: str
    step: LoginStep
    expires: float  # clock monotonic
    enrolment_secret: str | None = field(default=None, repr=False)
    checked: PasswordChecked | None = field(default=None, repr=False)
    user_key: DeviceSigner | None = field(default=None, repr=False)


class AuthService(Service):
    """See the module docstring."""

    def __init__(
        self,
        ports: Ports,
        credentials: CredentialStore,
        sessions: SessionManager,
        *,
        hashing: PasswordHashing | None = None,
        throttle_policy: throttle.ThrottlePolicy = throttle.DEFAULT_POLICY,
        issuer: str = DEFAULT_ISSUER,
        challenge_seconds: float = 300.0,
        ip: str | None = None,
        defer_audit: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        """``defer_audit`` runs the audit write of a session event (lock, emergency expiry…).
        Session events can fire on the GUI thread (the inactivity timer); the UI passes a
        function that moves the write to its worker there. Default: write at once."""
        super().__init__(ports)
        self._defer_audit = defer_audit or (lambda write: write())
        self._credentials = credentials
        self.sessions = sessions
        self.factors = Factors(
            ports.ledger, credentials, ports.clock, hashing or PasswordHashing(), throttle_policy
        )
        self._issuer = issuer
        self._challenge_seconds = challenge_seconds
        self.ip = ip
        self._pending: dict[str, _Pending] = {}
        sessions.subscribe(self._audit_session_event)

    @property
    def ports(self) -> Ports:
        return self._ports

    # ---- sign-in ------------------------------------------------------------------------------
    def begin_login(self, username: str, password: str) -> LoginChallenge:
        """First factor. Raises AuthError (wrong or unknown — not told apart), Throttled,
        AccountLocked; a deactivated account is refused after a correct password."""
        attempt = self._attempt("sign-in")
        self._refuse_if_blocked(username)
        user = self._read.user_by_username(username.strip().lower())
        if user is None:
            self.factors.unknown_user(attempt)
        checked = self.factors.check_password(user, password, attempt)
        self._refuse_inactive(user, attempt)
        record = checked.record
        if record.must_change_password or not isinstance(record, AccountRecord):
            # an unsigned earlier record: a new password and authenticator, with the user's key
            step = LoginStep.CHANGE_PASSWORD
        elif not record.totp_enrolled:
            step = LoginStep.ENROL_TOTP
        else:
            step = LoginStep.TOTP
        return self._challenge(user, step, checked=checked)

    def set_new_password(self, challenge: LoginChallenge, new_password: str) -> LoginChallenge:
        """Replaces a temporary password (step ``change_password``). Raises PasswordRejected."""
        pending, user = self._take(challenge, LoginStep.CHANGE_PASSWORD, consume=False)
        record, key = self._store_new_password(user, new_password, pending.checked)
        step = LoginStep.TOTP if record.totp_enrolled else LoginStep.ENROL_TOTP
        checked = PasswordChecked(record, None, key)
        return self._challenge(user, step, replaces=challenge.token, checked=checked)

    def begin_enrolment(self, challenge: LoginChallenge) -> TotpEnrolment:
        """The QR code and manual key for step ``enrol_totp``. The secret is kept in memory
        until :meth:`confirm_enrolment` proves the app shows the right codes."""
        pending, user = self._take(challenge, LoginStep.ENROL_TOTP, consume=False)
        enrolment = TotpEnrolment.create(user.username, self._issuer)
        pending.enrolment_secret = enrolment.secret
        return enrolment

    def confirm_enrolment(self, challenge: LoginChallenge, code: str) -> EnrolmentComplete:
        """Checks a code from the new app; stores the secret and ten recovery codes; signs in.
        A wrong code counts as a failure and leaves the enrolment open to try again."""
        pending, user = self._take(challenge, LoginStep.ENROL_TOTP, consume=False)
        if pending.enrolment_secret is None:
            raise AuthError("Start the authenticator set-up first.")
        attempt = self._attempt("authenticator set-up")
        self.factors.gate(user, attempt)
        result = check_code(pending.enrolment_secret, code, self._clock.now(), None)
        if result.outcome is not TotpOutcome.ACCEPTED:
            self.factors.fail(user, attempt, "wrong set-up code", "The code is not correct.")
        codes = recovery.generate()
        record = self.factors.record(user)
        key = pending.user_key
        if not isinstance(record, AccountRecord) or key is None:
            raise AuthError("Set a new password first. Please start the sign-in again.")
        self._credentials.append(
            record.revise(
                change="totp_enrolled",
                at=self._clock.now(),
                by=user.user_id,
                device_id=self._ledger.device_id,
                totp_secret=pending.enrolment_secret,
                totp_enrolled=True,
                recovery_codes=tuple(
                    RecoverySlot(code_hash=recovery.hash_code(user.user_id, c)) for c in codes
                ),
            ).signed(key)
        )
        if result.step is not None:
            self._credentials.save_totp_step(user.user_id, result.step)
        self._pending.pop(challenge.token, None)
        self._append([self._user_audit(user, audit.MFA_ENROLLED, "Authenticator app set up")])
        return EnrolmentComplete(self._finish(user, key), tuple(codes))

    def submit_totp(self, challenge: LoginChallenge, code: str) -> Session:
        """Second factor (step ``totp``). Raises AuthError (wrong or reused code), Throttled,
        AccountLocked; the challenge stays open after a wrong code."""
        pending, user = self._take(challenge, LoginStep.TOTP, consume=False)
        self.factors.check_totp(user, code, self._attempt("sign-in"))
        self._pending.pop(challenge.token, None)
        return self._finish(user, pending.user_key)

    def submit_recovery_code(self, challenge: LoginChallenge, code: str) -> Session:
        """Second factor by a single-use recovery code instead of the app."""
        pending, user = self._take(challenge, LoginStep.TOTP, consume=False)
        self.factors.check_recovery_code(user, code, self._attempt("sign-in"), pending.user_key)
        self._pending.pop(challenge.token, None)
        return self._finish(user, pending.user_key)

    def break_glass(self, challenge: LoginChallenge, reason: str) -> Session:
        """Signs in past the offline limit (step ``break_glass``) with a stated reason, for the
        facility's emergency minutes. Raises PermissionDenied (the role may not; audited),
        ValidationError (no reason), OfflineLimitReached (the tablet is revoked, or its app is
        older than the server accepts)."""
        pending, user = self._take(challenge, LoginStep.BREAK_GLASS, consume=False)
        text = nonblank(reason, "A reason for break-glass access")
        status = self._offline_status()
        if status is not None and status.blocks_phi and not status.allows_break_glass:
            self._pending.pop(challenge.token, None)
            raise OfflineLimitReached(status.message() or "revoked", break_glass=False)
        if not allowed(user.role, Permission.EMERGENCY_ACCESS):
            self._append(
                [
                    self._user_audit(
                        user,
                        audit.PERMISSION_REFUSED,
                        f"{Permission.EMERGENCY_ACCESS.value}: break-glass past the offline "
                        f"limit refused for role {user.role.value}",
                    )
                ]
            )
            raise PermissionDenied(
                "Your role may not use break-glass access. Ask a nurse or administrator."
            )
        self._pending.pop(challenge.token, None)
        minutes = self.sessions.settings.emergency_access_minutes
        after = {
            "reason": text,
            "minutes": minutes,
            "offline_limit_hours": status.limit_hours if status is not None else None,
        }
        self._append(
            [
                audit.audit_draft(
                    audit.OFFLINE_BREAK_GLASS,
                    actor=Actor(user_id=user.user_id, role=user.role.value),
                    user_name=user.full_name,
                    ip=self.ip,
                    entity_type="user",
                    entity_id=user.user_id,
                    after=after,
                    detail=f"Break-glass past the offline limit: {text}",
                )
            ]
        )
        return self.sessions.start(
            self._authority(user), pending.user_key, offline_override=True
        )

    def cancel(self, challenge: LoginChallenge) -> None:
        self._pending.pop(challenge.token, None)

    # ---- the running session ------------------------------------------------------------------
    def unlock(self, password: str) -> Session:
        """The signed-in user unlocks a locked screen with the password."""
        session = self._session()
        user = session.user
        attempt = self._attempt("unlock")
        try:
            self.factors.check_password(user, password, attempt)
        except AuthError:
            if self._credentials.throttle_state(user.user_id).locked:
                self.sessions.end("locked_out")
            raise
        self._refuse_inactive(user, attempt)
        self.factors.succeeded(user)
        return self.sessions.mark_unlocked(user.user_id)

    def reauthenticate(self, password: str, code: str) -> Session:
        """Full sign-in (password and TOTP) of the session's user: restarts the 12-hour timer."""
        session = self._session()
        user = session.user
        attempt = self._attempt("re-authentication")
        self.factors.check_password(user, password, attempt)
        self._refuse_inactive(user, attempt)
        self.factors.check_totp(user, code, attempt)
        self.factors.succeeded(user)
        return self.sessions.mark_reauthenticated(user.user_id)

    def logout(self) -> None:
        """Ends the session and clears what it held (audited as ``logout``)."""
        self.sessions.end("logout")

    def change_password(self, current: str, new: str) -> None:
        """The signed-in user changes their password (current one required)."""
        principal = self.sessions.principal(touch=True)
        user = principal.user
        checked = self.factors.check_password(user, current, self._attempt("password change"))
        self._store_new_password(user, new, checked)

    # ---- internals ----------------------------------------------------------------------------
    def _attempt(self, purpose: str) -> Attempt:
        return Attempt(purpose, self.ip)

    def _session(self) -> Session:
        session = self.sessions.current
        if session is None:
            raise SessionExpired("Please sign in.")
        return session

    def _refuse_inactive(self, user: User, attempt: Attempt) -> None:
        current = self._authority(self._read.user(user.user_id) or user)
        if not current.active:
            self._append(
                [self._user_audit(current, attempt.failure_action, "account is deactivated")]
            )
            raise AuthError("This account is deactivated. Ask a facility administrator.")

    def _store_new_password(
        self, user: User, new_password: str, checked: PasswordChecked | None
    ) -> tuple[AccountRecord, DeviceSigner]:
        """The user's new password as a self-signed statement: the user's first key after a
        creation or reset (``key_bound``, also signed by the temporary password's binding
        key), the first signed version of an unsigned earlier record (``legacy_rebound``,
        authenticator set up again), or the same key rewrapped (``password_changed``).
        Returns the stored record and the user's key. Raises PasswordRejected, AuthError."""
        facility = self._read.facility()
        policy = PasswordPolicy(facility.settings.password_min_length if facility else 12)
        policy.check(new_password, username=user.username, full_name=user.full_name)
        record = self.factors.record(user)
        if checked is None or checked.record != record:
            raise SessionExpired("The account changed meanwhile. Please sign in again.")
        if isinstance(record, AccountRecord):
            if userkeys.check(record.password, new_password) is not None:
                raise AuthError("Choose a password different from the current one.")
        elif self.factors.hashing.verify(record.password_hash, new_password):
            raise AuthError("Choose a password different from the current one.")
        params, now, device = self.factors.hashing.params, self._clock.now(), self._ledger.device_id
        if isinstance(record, AccountRecord) and checked.user_key is not None:
            fields, key = issue.key_fields(user.user_id, new_password, params, checked.user_key)
            fields.pop("bind_public")
            fields.pop("user_public")
            updated = record.revise(
                change="password_changed", at=now, by=user.user_id, device_id=device, **fields
            ).signed(key)
        elif isinstance(record, AccountRecord):
            if checked.derived is None or record.bind_public is None:
                raise AuthError("This account has no key. Ask a facility administrator.")
            updated, key = issue.bind_key(
                record, checked.derived, new_password, params, at=now, device_id=device
            )
        else:
            fields, key = issue.key_fields(user.user_id, new_password, params)
            updated = issue.after_unsigned(
                record, user, "legacy_rebound", fields, at=now, by=user.user_id,
                device_id=device,
            ).signed(key)
        self._credentials.append(updated)
        self._append([self._user_audit(user, audit.PASSWORD_CHANGED, "Password changed")])
        return updated, key

    def _challenge(
        self,
        user: User,
        step: LoginStep,
        *,
        replaces: str | None = None,
        checked: PasswordChecked | None = None,
    ) -> LoginChallenge:
        if replaces is not None:
            self._pending.pop(replaces, None)
        now = self._clock.monotonic()
        self._pending = {k: p for k, p in self._pending.items() if p.expires > now}
        token = secrets.token_urlsafe(24)
        self._pending[token] = _Pending(
            user.user_id,
            step,
            now + self._challenge_seconds,
            checked=checked,
            user_key=checked.user_key if checked is not None else None,
        )
        return LoginChallenge(token, user, step)

    def _take(
        self, challenge: LoginChallenge, step: LoginStep, *, consume: bool = True
    ) -> tuple[_Pending, User]:
        pending = self._pending.get(challenge.token)
        if (
            pending is None
            or pending.expires <= self._clock.monotonic()
            or pending.user_id != challenge.user.user_id
        ):
            self._pending.pop(challenge.token, None)
            raise SessionExpired("The sign-in took too long. Please start again.")
        if pending.step is not step:
            raise AuthError("This sign-in step is not expected now. Please start again.")
        user = self._read.user(pending.user_id)
        if user is None:
            raise SessionExpired("Please start the sign-in again.")
        if consume:
            self._pending.pop(challenge.token, None)
        return pending, user

    def _finish(self, user: User, key: DeviceSigner | None) -> Session:
        """Starts the session with the account's authority as its signed record states it
        (role, units, active win over the ledger's view) and the user's key."""
        self.factors.succeeded(user)
        facility = self._read.facility()
        if facility is not None:
            self.sessions.update_settings(facility.settings)
        status = self._offline_status()
        if status is not None and status.blocks_phi:
            message = status.message() or "This tablet may not show patient data now."
            self._append([self._user_audit(user, audit.OFFLINE_LIMIT_REFUSED, message)])
            if not status.allows_break_glass:
                raise OfflineLimitReached(message, break_glass=False)
            challenge = self._challenge(user, LoginStep.BREAK_GLASS)
            self._pending[challenge.token].user_key = key  # for the break-glass session
            raise OfflineLimitReached(message, break_glass=True, challenge=challenge)
        return self.sessions.start(self._authority(user), key)

    def _authority(self, user: User) -> User:
        return self.factors.authority(user)

    def _offline_status(self) -> OfflineStatus | None:
        offline = self.sessions.offline
        return None if offline is None else offline.status()

    def _refuse_if_blocked(self, username: str) -> None:
        """Refuses (audited) before any factor is checked when no one may sign in here: the
        tablet is revoked or its app is older than the server accepts."""
        status = self._offline_status()
        if status is None or not status.blocks_phi or status.allows_break_glass:
            return
        message = status.message() or "This tablet was revoked."
        self._append(
            [
                audit.audit_draft(
                    audit.OFFLINE_LIMIT_REFUSED,
                    actor=SYSTEM_ACTOR,
                    user_name="system",
                    ip=self.ip,
                    entity_type="user",
                    entity_id=username.strip().lower()[:64],
                    detail=f"sign-in refused: {_REFUSALS.get(status.state, 'blocked')}",
                )
            ]
        )
        raise OfflineLimitReached(message, break_glass=False)

    def _user_audit(self, user: User, action: str, detail: str) -> EntryDraft:
        return audit.audit_draft(
            action,
            actor=Actor(user_id=user.user_id, role=user.role.value),
            user_name=user.full_name,
            ip=self.ip,
            entity_type="user",
            entity_id=user.user_id,
            detail=detail,
        )

    def _audit_session_event(self, event: SessionEvent) -> None:
        action = _SESSION_ACTIONS[event.kind]
        detail = event.reason
        after: dict[str, object] | None = None
        grant = event.emergency
        if grant is not None and event.kind in (
            SessionEventKind.EMERGENCY_STARTED,
            SessionEventKind.EMERGENCY_ENDED,
        ):
            after = {
                "reason": grant.reason,
                "unit_ids": sorted(grant.unit_ids),
                "all_units": grant.all_units,
                "until": utc_iso(grant.until),
            }
            detail = grant.reason if event.kind is SessionEventKind.EMERGENCY_STARTED else detail
        draft = audit.audit_draft(
            action,
            actor=Actor(user_id=event.user.user_id, role=event.user.role.value),
            user_name=event.user.full_name,
            ip=self.ip,
            entity_type="session",
            entity_id=event.session_id,
            after=after,
            detail=detail,
        )

        def write() -> None:
            self._append([draft])

        self._defer_audit(write)
