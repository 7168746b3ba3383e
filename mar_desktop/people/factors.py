"""Checking one person's factors on this device: password, TOTP code, recovery code.

Every check goes through the throttle first (a locked or throttled account is refused without
looking at the secret, and the refusal is audited), and every failure — of any factor — is
counted, stored device-locally and audited (``login_failed`` or ``witness_failed``, plus
``locked_out`` when it locks the account) before the error is raised. Counters are reset only
by :meth:`Factors.succeeded`, which callers invoke after a *complete* sign-in (both factors), so
knowing the password never buys more guesses at the code.

Error messages are for the screen and never include what was typed. Worker thread only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from mar_desktop import audit
from mar_desktop.clock import Clock
from mar_desktop.envelope import Actor, EntryDraft
from mar_desktop.errors import AccountLocked, AuthError, Throttled
from mar_desktop.model import User
from mar_desktop.people import recovery, throttle, userkeys
from mar_desktop.people.credentials import RecoverySlot
from mar_desktop.people.passwords import PasswordHashing
from mar_desktop.people.ports import CredentialStore
from mar_desktop.people.statements import AccountRecord, HeldRecord
from mar_desktop.people.totp import TotpOutcome, check_code
from mar_desktop.ports import LedgerWriter
from mar_desktop.signing import DeviceSigner

WRONG_PASSWORD = "The username or password is not correct."  # noqa: S105 (a message)
WRONG_CODE = "The code is not correct. Check the time on your phone and try the newest code."
USED_CODE = "This code was already used. Wait for the next code in your app."
WRONG_RECOVERY = "The recovery code is not correct or was already used."


@dataclass(frozen=True, slots=True)
class Attempt:
    """Why the factors are being checked, for the audit trail."""

    purpose: str  # "sign-in", "unlock", "re-authentication", "witness", "password change"
    ip: str | None = None

    @property
    def failure_action(self) -> str:
        return audit.WITNESS_FAILED if self.purpose == "witness" else audit.LOGIN_FAILED


@dataclass(frozen=True, slots=True)
class PasswordChecked:
    """A right password: the record it matched and, for a signed account record, the keys of
    that same Argon2id run and the user's key it unwrapped (None while the password is
    temporary or the record is an unsigned earlier one). Memory only."""

    record: HeldRecord
    derived: userkeys.Derived | None = field(default=None, repr=False)
    user_key: DeviceSigner | None = field(default=None, repr=False)


class Factors:
    """See the module docstring."""

    def __init__(
        self,
        ledger: LedgerWriter,
        credentials: CredentialStore,
        clock: Clock,
        hashing: PasswordHashing,
        policy: throttle.ThrottlePolicy = throttle.DEFAULT_POLICY,
    ) -> None:
        self._ledger = ledger
        self._credentials = credentials
        self._clock = clock
        self.hashing = hashing
        self.policy = policy

    # ---- the checks --------------------------------------------------------------------------
    def record(self, user: User) -> HeldRecord:
        record = self._credentials.latest(user.user_id)
        if record is None:
            raise AuthError("This account has no password set. Ask a facility administrator.")
        return record

    def authority(self, user: User) -> User:
        """``user`` with role, units and active as the signed account record states them
        (they win over the ledger's view, which any enrolled device can write); unchanged for
        an account still on an unsigned earlier record."""
        record = self._credentials.latest(user.user_id)
        if not isinstance(record, AccountRecord):
            return user
        return user.model_copy(
            update={"role": record.role, "unit_ids": record.unit_ids, "active": record.active}
        )

    def gate(self, user: User, attempt: Attempt) -> None:
        """Raises (and audits) when the account is locked or throttled on this device. A lock
        made before an administrator's unlock statement (``unlocked_at``) is lifted first."""
        state = self._credentials.throttle_state(user.user_id)
        record = self._credentials.latest(user.user_id)
        unlocked_at = record.unlocked_at if isinstance(record, AccountRecord) else None
        locked_at = state.locked_at
        if unlocked_at is not None and locked_at is not None and locked_at <= unlocked_at:
            state = throttle.unlock(state)
            self._credentials.save_throttle_state(user.user_id, state)
        try:
            throttle.ensure_open(state, self._clock.now(), self.policy)
        except (AccountLocked, Throttled) as refused:
            action = audit.LOCKED_OUT if isinstance(refused, AccountLocked) else audit.THROTTLED
            self._audit(user, action, attempt, f"{attempt.purpose}: attempt refused, {refused}")
            raise

    def check_password(self, user: User, password: str, attempt: Attempt) -> PasswordChecked:
        """The matched record (with the keys of the one Argon2id run) when ``password`` is
        right; raises otherwise. An unsigned earlier record is checked as it was stored."""
        self.gate(user, attempt)
        record = self.record(user)
        if not isinstance(record, AccountRecord):
            if not self.hashing.verify(record.password_hash, password):
                self.fail(user, attempt, "wrong password", WRONG_PASSWORD)
            return PasswordChecked(record)
        derived = userkeys.check(record.password, password)
        if derived is None:
            self.fail(user, attempt, "wrong password", WRONG_PASSWORD)
        key = None
        if record.wrapped_key is not None and record.user_public is not None:
            key = userkeys.unwrap(
                record.wrapped_key, derived.wrap_key, user.user_id, record.user_public
            )
            if record.password.params != self.hashing.params:
                record = self._rehash(user, record, password, key)
        return PasswordChecked(record, derived, key)

    def _rehash(
        self, user: User, record: AccountRecord, password: str, key: DeviceSigner
    ) -> AccountRecord:
        """The same password and key under this device's Argon2id parameters (one more run)."""
        verifier, derived = userkeys.new_verifier(password, self.hashing.params)
        updated = record.revise(
            change="password_rehashed",
            at=self._clock.now(),
            by=user.user_id,
            device_id=self._ledger.device_id,
            password=verifier,
            wrapped_key=userkeys.wrap(key, derived.wrap_key, user.user_id),
        ).signed(key)
        return self._store(updated)

    def check_totp(self, user: User, code: str, attempt: Attempt) -> None:
        """Accepts ``code`` once for its time step on this device: a step at or below the last
        one accepted here (or carried by the record) is a replay. Stores the step device-locally
        (:meth:`CredentialStore.save_totp_step`); no credential version is made, so signing in
        changes nothing that syncs."""
        self.gate(user, attempt)
        record = self.record(user)
        if not record.totp_enrolled or record.totp_secret is None:
            raise AuthError("No authenticator app is set up for this account.")
        carried = record.last_totp_step if not isinstance(record, AccountRecord) else None
        steps = [carried, self._credentials.last_totp_step(user.user_id)]
        last = max((s for s in steps if s is not None), default=None)
        result = check_code(record.totp_secret, code, self._clock.now(), last)
        if not result.accepted or result.step is None:
            replay = result.outcome is TotpOutcome.REPLAYED
            detail = "code already used (replay)" if replay else f"{result.outcome.value} code"
            self.fail(user, attempt, detail, USED_CODE if replay else WRONG_CODE)
        self._credentials.save_totp_step(user.user_id, result.step)

    def check_recovery_code(
        self, user: User, code: str, attempt: Attempt, key: DeviceSigner | None
    ) -> AccountRecord:
        """Accepts an unused recovery code once; marks it used in a new record version signed
        by the user's ``key`` (unwrapped by the password step)."""
        self.gate(user, attempt)
        record = self.record(user)
        if not isinstance(record, AccountRecord) or key is None:
            self.fail(user, attempt, "recovery code on an account not carried over", WRONG_RECOVERY)
        hashes = [slot.code_hash for slot in record.recovery_codes]
        index = recovery.match(user.user_id, code, hashes)
        if index is None or record.recovery_codes[index].used_at is not None:
            self.fail(user, attempt, "wrong or used recovery code", WRONG_RECOVERY)
        now = self._clock.now()
        slots = tuple(
            RecoverySlot(code_hash=s.code_hash, used_at=now) if i == index else s
            for i, s in enumerate(record.recovery_codes)
        )
        updated = record.revise(
            change="recovery_code_used",
            at=now,
            by=user.user_id,
            device_id=self._ledger.device_id,
            recovery_codes=slots,
        ).signed(key)
        self._audit(
            user,
            audit.RECOVERY_CODE_USED,
            attempt,
            f"{attempt.purpose}: recovery code used, {updated.recovery_codes_left} left",
        )
        return self._store(updated)

    def succeeded(self, user: User) -> None:
        """A complete authentication: resets this device's failure counters."""
        state = self._credentials.throttle_state(user.user_id)
        if state != throttle.ThrottleState():
            self._credentials.save_throttle_state(user.user_id, throttle.record_success(state))

    def unknown_user(self, attempt: Attempt) -> NoReturn:
        """Spends a verification's time and audits a failure for a username that does not
        exist; the typed name is not recorded (it may be a password typed in the wrong box)."""
        self.hashing.dummy_verify()
        self._ledger.append(
            [
                audit.audit_draft(
                    attempt.failure_action,
                    actor=Actor(user_id="unknown", role="none"),
                    user_name="",
                    ip=attempt.ip,
                    entity_type="user",
                    detail=f"{attempt.purpose}: unknown username",
                )
            ]
        )
        raise AuthError(WRONG_PASSWORD)

    def _store(self, record: AccountRecord) -> AccountRecord:
        self._credentials.append(record)
        return record

    def fail(self, user: User, attempt: Attempt, detail: str, message: str) -> NoReturn:
        """Counts, stores and audits one failure (``detail`` goes to the audit trail, never
        anything typed), then raises AuthError(``message``) or AccountLocked."""
        state = self._credentials.throttle_state(user.user_id)
        state, outcome = throttle.record_failure(state, self._clock.now(), self.policy)
        self._credentials.save_throttle_state(user.user_id, state)
        drafts = [
            self._draft(
                user,
                attempt.failure_action,
                attempt,
                f"{attempt.purpose}: {detail} (failure {state.failures})",
            )
        ]
        if outcome is throttle.FailureOutcome.LOCKED:
            drafts.append(
                self._draft(
                    user,
                    audit.LOCKED_OUT,
                    attempt,
                    f"locked on this device after {state.failures} failures",
                )
            )
        self._ledger.append(drafts)
        if outcome is throttle.FailureOutcome.LOCKED:
            throttle.ensure_open(state, self._clock.now(), self.policy)  # raises AccountLocked
        raise AuthError(message)

    def _audit(self, user: User, action: str, attempt: Attempt, detail: str) -> None:
        self._ledger.append([self._draft(user, action, attempt, detail)])

    @staticmethod
    def _draft(user: User, action: str, attempt: Attempt, detail: str) -> EntryDraft:
        return audit.audit_draft(
            action,
            actor=Actor(user_id=user.user_id, role=user.role.value),
            user_name=user.full_name,
            ip=attempt.ip,
            entity_type="user",
            entity_id=user.user_id,
            detail=detail,
        )
