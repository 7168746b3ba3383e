"""Witness sign-in (Schedule II) and emergency ("break-the-glass") access.

Witness: a second person authenticates with password *and* TOTP on this device while the first
is signed in. Refused (and audited) for the signed-in person themself, an unlicensed role
(:attr:`~mar_desktop.model.User.licensed`), a deactivated account, and a locked or throttled
account; wrong factors count toward the *witness's* throttle. The witness's session is not
started. For a Schedule II dose or waste (:meth:`AccessService.witness_for_record`) the sign-in
is itself a signed ``witness.attested`` entry that the record must reference
(:mod:`mar_desktop.clinical.witness`); otherwise the attestation alone is returned.

Emergency access: a user whose role allows it states a reason and gets the named units (or all
units) for ``FacilitySettings.emergency_access_minutes``; it lapses by itself on the session's
clock, the session exposes it for the screen, and start and end are audited (by the session
observer of :class:`~mar_desktop.people.auth.AuthService`). Worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from mar_desktop import audit, kinds
from mar_desktop.clinical.witness import (
    WitnessRequest,
    WitnessSignIn,
    may_witness,
    sign_attestation,
    witnessed_dose,
)
from mar_desktop.envelope import Actor, EntryDraft, new_id
from mar_desktop.errors import AuthError, NotFound, ValidationError
from mar_desktop.kinds import WitnessAttestation
from mar_desktop.model import WITNESS_LICENCE, User
from mar_desktop.people.auth import AuthService
from mar_desktop.people.factors import Attempt, PasswordChecked
from mar_desktop.people.ports import CredentialStore
from mar_desktop.people.sessions import EmergencyAccess
from mar_desktop.people.statements import AccountRecord
from mar_desktop.permissions import Permission, Principal, allowed
from mar_desktop.services.base import Service, nonblank


class AccessService(Service):
    """Witness sign-in and emergency access, on top of an :class:`AuthService`."""

    def __init__(self, auth: AuthService) -> None:
        super().__init__(auth.ports)
        self._auth = auth
        self._sessions = auth.sessions
        self._factors = auth.factors

    def witness_sign_in(self, username: str, password: str, code: str) -> WitnessAttestation:
        """Authenticates a second person for the signed-in user's action (an urgent dose on an
        unverified order); writes only the audit entry. A Schedule II dose or waste needs
        :meth:`witness_for_record`, which also writes the ``witness.attested`` entry."""
        principal, current, _checked = self._authenticate(
            username, password, code, lambda user: user.licensed and allowed(
                user.role, Permission.WITNESS
            )
        )
        now = self._clock.now()
        self._append([self._witness_audit(principal, current)])
        return _attestation(current, now)

    def witness_for_record(
        self, username: str, password: str, code: str, request: WitnessRequest
    ) -> WitnessSignIn:
        """A witness signs in on this device for the record ``request`` names (a Schedule II
        dose or waste of the signed-in user): checks the amount against the order first (no
        factor is counted for a wrong amount), then both factors and the witness's licence
        (:func:`~mar_desktop.clinical.witness.may_witness`), then appends ONE transaction: the
        ``witness.attested`` entry (actor: the witness; signed by the witness's own key when the
        account has one) and the ``witness_signed`` audit entry.

        Raises NotFound (order), RuleViolation (``dose_*``), AuthError, AccountLocked,
        Throttled."""
        order_state = self._read.order(request.order_id)
        if order_state is None or order_state.order.resident_id != request.resident_id:
            raise NotFound("No such order.")
        dose = witnessed_dose(order_state.order, request)
        principal, current, checked = self._authenticate(username, password, code, may_witness)
        now = self._clock.now()
        attestation = _attestation(current, now)
        body = kinds.WitnessAttested(
            purpose=request.purpose,
            record_entry_id=new_id(),
            of_entry_id=request.of_entry_id,
            device_id=self._ledger.device_id,
            giver_user_id=principal.user.user_id,
            dose=dose,
            witness=attestation,
        )
        if checked.user_key is not None:
            body = sign_attestation(body, checked.user_key)
        actor = Actor(user_id=current.user_id, role=current.role.value)
        attested = kinds.draft(kinds.WITNESS_ATTESTED, actor, body)
        entries = self._append([attested, self._witness_audit(principal, current)])
        return WitnessSignIn(attestation=attestation, entry_id=entries[0].id)

    def _authenticate(
        self, username: str, password: str, code: str, licensed: Callable[[User], bool]
    ) -> tuple[Principal, User, PasswordChecked]:
        """Both factors of a second person who is not the signed-in user, active and
        ``licensed``; refusals audited, wrong factors counted toward the witness's throttle."""
        principal = self._sessions.principal(touch=True)
        attempt = Attempt("witness", principal.ip)
        witness = self._read.user_by_username(username.strip().lower())
        if witness is None:
            self._factors.unknown_user(attempt)
        if witness.user_id == principal.user.user_id:
            self._refuse(principal.user, witness, "same person as the signed-in user")
            raise AuthError("The witness must be a different person.")
        checked = self._factors.check_password(witness, password, attempt)
        self._factors.check_totp(witness, code, attempt)
        current = self._factors.authority(self._read.user(witness.user_id) or witness)
        if not current.active:
            self._refuse(principal.user, current, "witness account is deactivated")
            raise AuthError("This witness account is deactivated.")
        if not licensed(current):
            self._refuse(principal.user, current, f"role {current.role.value} may not witness")
            raise AuthError(WITNESS_LICENCE)
        self._factors.succeeded(current)
        return principal, current, checked

    def _witness_audit(self, principal: Principal, witness: User) -> EntryDraft:
        return audit.audit_draft(
            audit.WITNESS_SIGNED,
            actor=Actor(user_id=witness.user_id, role=witness.role.value),
            user_name=witness.full_name,
            ip=principal.ip,
            entity_type="user",
            entity_id=principal.user.user_id,
            detail=f"Witness for {principal.user.full_name}",
        )

    def start_emergency_access(
        self, reason: str, unit_ids: Collection[str] | None = None
    ) -> EmergencyAccess:
        """Grants the signed-in user the named units (all units when None) for the facility's
        emergency minutes. Raises PermissionDenied (audited), ValidationError."""
        principal = self._sessions.principal(touch=True)
        self._require(principal, Permission.EMERGENCY_ACCESS, entity_type="session")
        text = nonblank(reason, "A reason for emergency access")
        known = {unit.unit_id for unit in self._read.units()}
        if unit_ids is None:
            units, all_units = frozenset(known), True
        else:
            units, all_units = frozenset(unit_ids), False
            if not units or not units <= known:
                raise ValidationError("Choose the units to open from the facility's units.")
        return self._sessions.grant_emergency(text, units, all_units=all_units)

    def end_emergency_access(self) -> None:
        self._sessions.end_emergency()

    def _refuse(self, primary: User, witness: User, why: str) -> None:
        self._append(
            [
                audit.audit_draft(
                    audit.WITNESS_FAILED,
                    actor=Actor(user_id=witness.user_id, role=witness.role.value),
                    user_name=witness.full_name,
                    ip=self._auth.ip,
                    entity_type="user",
                    entity_id=primary.user_id,
                    detail=f"witness refused: {why}",
                )
            ]
        )


def _attestation(witness: User, now: datetime) -> WitnessAttestation:
    return WitnessAttestation(
        user_id=witness.user_id,
        full_name=witness.full_name,
        role=witness.role.value,
        credentials=witness.credentials,
        authenticated_at=now,
    )


def account_keys(credentials: CredentialStore) -> Callable[[str], str | None]:
    """For :class:`~mar_desktop.services.recording.RecordingService`: a user's public key as
    the account record this device holds states it (None: the account has no key)."""

    def key_of(user_id: str) -> str | None:
        record = credentials.latest(user_id)
        return record.user_public if isinstance(record, AccountRecord) else None

    return key_of
