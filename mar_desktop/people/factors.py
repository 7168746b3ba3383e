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

from dataclasses import dataclass
from typing import NoReturn

from mar_desktop import audit
from mar_desktop.clock import Clock
from mar_desktop.envelope import Actor, EntryDraft
from mar_desktop.errors import AccountLocked, AuthError, Throttled
from mar_desktop.model import User
from mar_desktop.people import recovery, throttle
from mar_desktop.people.credentials import CredentialRecord, RecoverySlot
from mar_desktop.people.passwords import PasswordHashing
from mar_desktop.people.ports import CredentialStore
from mar_desktop.people.totp import TotpOutcome, check_code
from mar_desktop.ports import LedgerWriter

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
    def record(self, user: User) -> CredentialRecord:
        record = self._credentials.latest(user.user_id)
        if record is None:
            raise AuthError("This account has no password set. Ask a facility administrator.")
        return record

    def gate(self, user: User, attempt: Attempt) -> None:
        """Raises (and audits) when the account is locked or throttled on this device."""
        state = self._credentials.throttle_state(user.user_id)
        try:
            throttle.ensure_open(state, self._clock.now(), self.policy)
        except (AccountLocked, Throttled) as refused:
            action = audit.LOCKED_OUT if isinstance(refused, AccountLocked) else audit.THROTTLED
            self._audit(user, action, attempt, f"{attempt.purpose}: attempt refused, {refused}")
            raise

    def check_password(self, user: User, password: str, attempt: Attempt) -> CredentialRecord:
        """The (possibly rehashed) record when ``password`` is right; raises otherwise."""
        self.gate(user, attempt)
        record = self.record(user)
        if not self.hashing.verify(record.password_hash, password):
            self.fail(user, attempt, "wrong password", WRONG_PASSWORD)
        if self.hashing.needs_rehash(record.password_hash):
            record = record.revise(
                change="password_rehashed",
                at=self._clock.now(),
                by=user.user_id,
                device_id=self._ledger.device_id,
                password_hash=self.hashing.hash(password),
            )
            self._credentials.append(record)
        return record

    def check_totp(self, user: User, code: str, attempt: Attempt) -> None:
        """Accepts ``code`` once for its time step on this device: a step at or below the last
        one accepted here (or carried by the record) is a replay. Stores the step device-locally
        (:meth:`CredentialStore.save_totp_step`); no credential version is made, so signing in
        changes nothing that syncs."""
        self.gate(user, attempt)
        record = self.record(user)
        if not record.totp_enrolled or record.totp_secret is None:
            raise AuthError("No authenticator app is set up for this account.")
        steps = [record.last_totp_step, self._credentials.last_totp_step(user.user_id)]
        last = max((s for s in steps if s is not None), default=None)
        result = check_code(record.totp_secret, code, self._clock.now(), last)
        if not result.accepted or result.step is None:
            replay = result.outcome is TotpOutcome.REPLAYED
            detail = "code already used (replay)" if replay else f"{result.outcome.value} code"
            self.fail(user, attempt, detail, USED_CODE if replay else WRONG_CODE)
        self._credentials.save_totp_step(user.user_id, result.step)

    def check_recovery_code(self, user: User, code: str, attempt: Attempt) -> CredentialRecord:
        """Accepts an unused recovery code once; marks it used in a new record version."""
        self.gate(user, attempt)
        record = self.record(user)
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
        )
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

    def _store(self, record: CredentialRecord) -> CredentialRecord:
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
