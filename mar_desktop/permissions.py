"""Roles × permissions as data, and the unit scope (docs/architecture.md#security).

Services call :func:`require` before doing anything; hiding a button is never the control.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mar_desktop.envelope import Actor
from mar_desktop.errors import PermissionDenied
from mar_desktop.model import Role, User


class Permission(StrEnum):
    VIEW_MAR = "view_mar"
    RECORD_ADMINISTRATION = "record_administration"
    AMEND_NOTE = "amend_note"
    VOID_ENTRY = "void_entry"
    WITNESS = "witness"
    RECORD_PRN_FOLLOWUP = "record_prn_followup"
    ACKNOWLEDGE_ALERT = "acknowledge_alert"
    EMERGENCY_ACCESS = "emergency_access"
    MANAGE_RESIDENTS = "manage_residents"
    MANAGE_ORDERS = "manage_orders"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_DEVICES = "manage_devices"
    VIEW_AUDIT = "view_audit"
    PRINT_REPORTS = "print_reports"
    EXPORT_FACILITY = "export_facility"
    VERIFY_ORDERS = "verify_orders"
    """Verify or return a new or changed order (never one's own: the services check it)."""
    MANAGE_CLINICAL_SETTINGS = "manage_clinical_settings"
    """Change the clinical settings (windows, reason codes, scope of practice, order
    verification); the security settings need MANAGE_SETTINGS."""
    REVIEW_OVERRIDES = "review_overrides"
    """See the override report: urgent doses on unverified orders and accepted warnings."""


P = Permission
_NURSE = frozenset(
    {
        P.VIEW_MAR,
        P.RECORD_ADMINISTRATION,
        P.AMEND_NOTE,
        P.VOID_ENTRY,
        P.WITNESS,
        P.RECORD_PRN_FOLLOWUP,
        P.ACKNOWLEDGE_ALERT,
        P.EMERGENCY_ACCESS,
        P.PRINT_REPORTS,
        P.VERIFY_ORDERS,
    }
)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # The admin enters orders; verifying them is a licensed second person's work.
    Role.FACILITY_ADMIN: frozenset(Permission) - {P.VERIFY_ORDERS},
    # Clinical oversight: everything a nurse does, plus clinical settings and reviews; no
    # staff accounts, devices or security settings.
    Role.DIRECTOR_OF_NURSING: _NURSE | {P.MANAGE_CLINICAL_SETTINGS, P.REVIEW_OVERRIDES},
    Role.NURSE: _NURSE,
    Role.CNA: frozenset(
        {P.VIEW_MAR, P.RECORD_ADMINISTRATION, P.AMEND_NOTE, P.RECORD_PRN_FOLLOWUP}
    ),
    # Verifies and returns orders, reads every unit's MAR and reports; records nothing at the
    # bedside.
    Role.PHARMACIST: frozenset({P.VIEW_MAR, P.PRINT_REPORTS, P.VERIFY_ORDERS, P.WITNESS}),
    Role.READ_ONLY: frozenset({P.VIEW_MAR, P.VIEW_AUDIT, P.PRINT_REPORTS, P.EXPORT_FACILITY}),
}

# Roles that see every unit whatever their assignment.
ALL_UNIT_ROLES = frozenset(
    {Role.FACILITY_ADMIN, Role.DIRECTOR_OF_NURSING, Role.PHARMACIST, Role.READ_ONLY}
)


def allowed(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in person a service acts for, on this device.

    ``emergency_units`` and ``emergency_until`` describe break-the-glass access granted with a
    stated reason (people issue); outside that window the assignment scope applies.
    """

    user: User
    device_id: str
    ip: str | None = None
    emergency_units: frozenset[str] = field(default_factory=frozenset)
    emergency_until: datetime | None = None

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user.user_id, role=self.user.role.value)

    def sees_all_units(self) -> bool:
        """The role sees every unit, or the account is assigned "all units" explicitly. An
        account with no unit sees none (the most restrictive reading; accounts made before
        "all units" was a choice read their empty assignment this way too)."""
        return self.user.role in ALL_UNIT_ROLES or self.user.all_units

    def unit_scope(self, now: datetime | None = None) -> frozenset[str] | None:
        """Unit ids this principal may see now; ``None`` means every unit, an empty set none
        (break-the-glass units are added while the grant lasts)."""
        if self.sees_all_units():
            return None
        scope = set(self.user.unit_ids)
        if now is not None and self.emergency_until is not None and now < self.emergency_until:
            scope |= self.emergency_units
        return frozenset(scope)

    def may_see_unit(self, unit_id: str, now: datetime | None = None) -> bool:
        scope = self.unit_scope(now)
        return scope is None or unit_id in scope


def require(
    principal: Principal,
    permission: Permission,
    *,
    unit_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Raises :class:`PermissionDenied` unless the role has ``permission`` (and, when
    ``unit_id`` is given, the unit is in scope). Writes nothing; callers audit the refusal."""
    if not principal.user.active:
        raise PermissionDenied("This account is deactivated.")
    if not allowed(principal.role, permission):
        action = permission.value.replace("_", " ")
        raise PermissionDenied(f"Your role ({principal.role.value}) does not allow: {action}.")
    if unit_id is not None and not principal.may_see_unit(unit_id, now):
        raise PermissionDenied("This resident is not on your assigned units.")


def roles_with(permission: Permission) -> Iterable[Role]:
    return (role for role, perms in ROLE_PERMISSIONS.items() if permission in perms)
