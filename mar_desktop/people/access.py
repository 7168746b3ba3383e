"""Witness sign-in (Schedule II) and emergency ("break-the-glass") access.

Witness: a second person authenticates with password *and* TOTP on this device while the first
is signed in. Refused (and audited) for the signed-in person themself, an unlicensed role
(:attr:`~mar_desktop.model.User.licensed`), a deactivated account, and a locked or throttled
account; wrong factors count toward the *witness's* throttle. The witness's session is not
started: the attestation is returned for the administration entry.

Emergency access: a user whose role allows it states a reason and gets the named units (or all
units) for ``FacilitySettings.emergency_access_minutes``; it lapses by itself on the session's
clock, the session exposes it for the screen, and start and end are audited (by the session
observer of :class:`~mar_desktop.people.auth.AuthService`). Worker thread.
"""

from __future__ import annotations

from collections.abc import Collection

from mar_desktop import audit
from mar_desktop.envelope import Actor
from mar_desktop.errors import AuthError, ValidationError
from mar_desktop.kinds import WitnessAttestation
from mar_desktop.model import WITNESS_LICENCE, User
from mar_desktop.people.auth import AuthService
from mar_desktop.people.factors import Attempt
from mar_desktop.people.sessions import EmergencyAccess
from mar_desktop.permissions import Permission, allowed
from mar_desktop.services.base import Service, nonblank


class AccessService(Service):
    """Witness sign-in and emergency access, on top of an :class:`AuthService`."""

    def __init__(self, auth: AuthService) -> None:
        super().__init__(auth.ports)
        self._auth = auth
        self._sessions = auth.sessions
        self._factors = auth.factors

    def witness_sign_in(self, username: str, password: str, code: str) -> WitnessAttestation:
        """Authenticates a witness for the signed-in user's Schedule II action."""
        principal = self._sessions.principal(touch=True)
        attempt = Attempt("witness", principal.ip)
        witness = self._read.user_by_username(username.strip().lower())
        if witness is None:
            self._factors.unknown_user(attempt)
        if witness.user_id == principal.user.user_id:
            self._refuse(principal.user, witness, "same person as the signed-in user")
            raise AuthError("The witness must be a different person.")
        self._factors.check_password(witness, password, attempt)
        self._factors.check_totp(witness, code, attempt)
        current = self._factors.authority(self._read.user(witness.user_id) or witness)
        if not current.active:
            self._refuse(principal.user, current, "witness account is deactivated")
            raise AuthError("This witness account is deactivated.")
        if not current.licensed or not allowed(current.role, Permission.WITNESS):
            self._refuse(principal.user, current, f"role {current.role.value} may not witness")
            raise AuthError(WITNESS_LICENCE)
        self._factors.succeeded(current)
        now = self._clock.now()
        self._append(
            [
                audit.audit_draft(
                    audit.WITNESS_SIGNED,
                    actor=Actor(user_id=current.user_id, role=current.role.value),
                    user_name=current.full_name,
                    ip=principal.ip,
                    entity_type="user",
                    entity_id=principal.user.user_id,
                    detail=f"Witness for {principal.user.full_name}",
                )
            ]
        )
        return WitnessAttestation(
            user_id=current.user_id,
            full_name=current.full_name,
            role=current.role.value,
            credentials=current.credentials,
            authenticated_at=now,
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
