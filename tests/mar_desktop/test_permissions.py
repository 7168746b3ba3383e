"""Roles × permissions, unit scope and break-the-glass access, pinned cell by cell.

The expected table is written out here on purpose, not read from ``ROLE_PERMISSIONS``: a
changed grant must fail a test (mutation testing cannot mutate a module-level table).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mar_desktop.errors import PermissionDenied
from mar_desktop.model import ALL_UNITS, Role, User
from mar_desktop.permissions import (
    ALL_UNIT_ROLES,
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    allowed,
    require,
    roles_with,
)

P = Permission
ADMIN, NURSE, CNA, READ_ONLY = Role.FACILITY_ADMIN, Role.NURSE, Role.CNA, Role.READ_ONLY
DON, RPH = Role.DIRECTOR_OF_NURSING, Role.PHARMACIST

# permission: the roles that hold it (docs/roles.md prints the same table; a test compares)
GRANTS: dict[Permission, frozenset[Role]] = {
    P.VIEW_MAR: frozenset({ADMIN, DON, NURSE, CNA, RPH, READ_ONLY}),
    P.RECORD_ADMINISTRATION: frozenset({ADMIN, DON, NURSE, CNA}),
    P.AMEND_NOTE: frozenset({ADMIN, DON, NURSE, CNA}),
    P.VOID_ENTRY: frozenset({ADMIN, DON, NURSE}),
    P.WITNESS: frozenset({ADMIN, DON, NURSE, RPH}),
    P.RECORD_PRN_FOLLOWUP: frozenset({ADMIN, DON, NURSE, CNA}),
    P.ACKNOWLEDGE_ALERT: frozenset({ADMIN, DON, NURSE}),
    P.EMERGENCY_ACCESS: frozenset({ADMIN, DON, NURSE}),
    P.MANAGE_RESIDENTS: frozenset({ADMIN}),
    P.MANAGE_ORDERS: frozenset({ADMIN}),
    P.MANAGE_USERS: frozenset({ADMIN}),
    P.MANAGE_SETTINGS: frozenset({ADMIN}),
    P.MANAGE_DEVICES: frozenset({ADMIN}),
    P.VIEW_AUDIT: frozenset({ADMIN, READ_ONLY}),
    P.PRINT_REPORTS: frozenset({ADMIN, DON, NURSE, RPH, READ_ONLY}),
    P.EXPORT_FACILITY: frozenset({ADMIN, READ_ONLY}),
    P.VERIFY_ORDERS: frozenset({DON, NURSE, RPH}),
    P.MANAGE_CLINICAL_SETTINGS: frozenset({ADMIN, DON}),
    P.REVIEW_OVERRIDES: frozenset({ADMIN, DON}),
}

NOW = datetime(2026, 1, 5, 8, tzinfo=UTC)


def person(role: Role, *units: str, active: bool = True) -> User:
    return User(
        user_id="u-1",
        username="someone",
        full_name="Some One",
        initials="SO",
        role=role,
        unit_ids=units,
        active=active,
    )


def test_every_permission_is_in_the_expected_table() -> None:
    assert set(GRANTS) == set(Permission)
    assert set(ROLE_PERMISSIONS) == set(Role)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_role_permission_cell(role: Role, permission: Permission) -> None:
    expected = role in GRANTS[permission]
    assert allowed(role, permission) is expected
    principal = Principal(user=person(role), device_id="dev-1")
    if expected:
        require(principal, permission)
    else:
        with pytest.raises(PermissionDenied, match=r"Your role \(.+\) does not allow"):
            require(principal, permission)


@pytest.mark.parametrize("permission", list(Permission))
def test_roles_with_lists_exactly_the_holders(permission: Permission) -> None:
    assert set(roles_with(permission)) == GRANTS[permission]


def test_only_admins_directors_pharmacists_and_read_only_users_see_every_unit() -> None:
    assert frozenset({ADMIN, DON, RPH, READ_ONLY}) == ALL_UNIT_ROLES
    for role in Role:
        principal = Principal(user=person(role, "unit-1"), device_id="dev-1")
        assert principal.sees_all_units() is (role in ALL_UNIT_ROLES)
        assert (principal.unit_scope() is None) is (role in ALL_UNIT_ROLES)


def test_a_nurse_without_assigned_units_sees_no_unit() -> None:
    """The most restrictive reading: no assignment is no unit, not every unit (an account made
    before "all units" was a choice reads the same way)."""
    principal = Principal(user=person(NURSE), device_id="dev-1")
    assert not principal.sees_all_units()
    assert principal.unit_scope(NOW) == frozenset()
    assert not principal.may_see_unit("unit-9", NOW)
    with pytest.raises(PermissionDenied, match="assigned units"):
        require(principal, P.VIEW_MAR, unit_id="unit-9")


@pytest.mark.parametrize("role", [NURSE, CNA])
def test_all_units_is_an_explicit_assignment(role: Role) -> None:
    principal = Principal(user=person(role, ALL_UNITS), device_id="dev-1")
    assert principal.sees_all_units()
    assert principal.unit_scope(NOW) is None
    assert principal.may_see_unit("unit-9", NOW)


@pytest.mark.parametrize("role", [ADMIN, READ_ONLY])
def test_admins_and_surveyors_without_units_still_see_every_unit(role: Role) -> None:
    """No facility admin is locked out by the empty assignment their accounts have."""
    principal = Principal(user=person(role), device_id="dev-1")
    assert principal.unit_scope(NOW) is None


def test_all_units_is_chosen_alone() -> None:
    with pytest.raises(ValueError, match="all units"):
        person(NURSE, ALL_UNITS, "unit-1")


def test_a_break_the_glass_grant_opens_units_to_an_account_with_none() -> None:
    principal = Principal(user=person(NURSE), device_id="dev-1",
                          emergency_units=frozenset({"unit-2"}),
                          emergency_until=NOW + timedelta(minutes=30))
    assert principal.unit_scope(NOW) == frozenset({"unit-2"})
    assert principal.unit_scope(NOW + timedelta(minutes=31)) == frozenset()


def test_a_deactivated_account_is_refused_even_what_its_role_allows() -> None:
    principal = Principal(user=person(ADMIN, active=False), device_id="dev-1")
    with pytest.raises(PermissionDenied, match="deactivated"):
        require(principal, P.VIEW_MAR)


def test_unit_scope_is_checked_only_when_a_unit_is_given() -> None:
    principal = Principal(user=person(NURSE, "unit-1"), device_id="dev-1")
    require(principal, P.VIEW_MAR)
    require(principal, P.VIEW_MAR, unit_id="unit-1")
    with pytest.raises(PermissionDenied, match="assigned units"):
        require(principal, P.VIEW_MAR, unit_id="unit-2")


def test_the_role_is_checked_before_the_unit() -> None:
    principal = Principal(user=person(CNA, "unit-1"), device_id="dev-1")
    with pytest.raises(PermissionDenied, match="does not allow: manage orders"):
        require(principal, P.MANAGE_ORDERS, unit_id="unit-1")


def emergency(until: datetime | None) -> Principal:
    return Principal(
        user=person(NURSE, "unit-1"),
        device_id="dev-1",
        emergency_units=frozenset({"unit-2"}),
        emergency_until=until,
    )


def test_emergency_access_adds_units_to_the_assigned_ones() -> None:
    principal = emergency(NOW + timedelta(minutes=60))
    assert principal.unit_scope(NOW) == frozenset({"unit-1", "unit-2"})
    require(principal, P.RECORD_ADMINISTRATION, unit_id="unit-2", now=NOW)
    require(principal, P.RECORD_ADMINISTRATION, unit_id="unit-1", now=NOW)
    assert not principal.may_see_unit("unit-3", NOW)


def test_emergency_access_ends_at_its_expiry() -> None:
    until = NOW + timedelta(minutes=60)
    principal = emergency(until)
    assert principal.may_see_unit("unit-2", until - timedelta(microseconds=1))
    assert principal.unit_scope(until) == frozenset({"unit-1"})
    assert principal.unit_scope(until + timedelta(hours=1)) == frozenset({"unit-1"})
    with pytest.raises(PermissionDenied, match="assigned units"):
        require(principal, P.RECORD_ADMINISTRATION, unit_id="unit-2", now=until)


def test_emergency_access_needs_a_time_to_compare_and_an_expiry() -> None:
    assert emergency(NOW + timedelta(hours=1)).unit_scope(None) == frozenset({"unit-1"})
    assert emergency(None).unit_scope(NOW) == frozenset({"unit-1"})


def test_principal_role_and_actor_come_from_the_user() -> None:
    principal = Principal(user=person(CNA, "unit-1"), device_id="dev-1")
    assert principal.role is CNA
    assert principal.actor.user_id == "u-1"
    assert principal.actor.role == "cna"

