"""Shift assignment rules, pure: which assignment is in force (shift start and end,
replacement, a signer who may not assign), whom it covers, who may set it on which unit, the
shift holding a moment, and the body's limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mar_desktop import kinds
from mar_desktop.errors import PermissionDenied, ValidationError
from mar_desktop.model import ALL_UNITS, Resident, Role, User
from mar_desktop.permissions import Principal
from mar_desktop.reports.shifts import shift_at
from mar_desktop.shift_assignment import (
    ShiftAssignment,
    check_assignment,
    clean_rooms,
    current,
    rooms_text,
)

CHI = ZoneInfo("America/Chicago")
START = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 07:00 Chicago: the day shift starts
END = START + timedelta(hours=8)


def assignment(entry: str, stamp: str, *, rooms: tuple[str, ...] = ("101",),
               start: datetime = START, end: datetime = END, role: str = "nurse",
               residents: tuple[str, ...] = ()) -> ShiftAssignment:
    return ShiftAssignment(
        entry_id=entry, assignment_id=f"a-{entry}", user_id="u-cna", unit_id="unit-1",
        rooms=rooms, resident_ids=residents, shift_name="day", starts_at=start, ends_at=end,
        set_by_user_id="u-rn", set_by_role=role, recorded_at=start, stamp=stamp,
    )


def resident(rid: str, room: str, unit: str = "unit-1") -> Resident:
    return Resident(resident_id=rid, unit_id=unit, given_name="A", family_name="B",
                    date_of_birth=date(1940, 1, 1), room=room, wristband_id=f"wb-{rid}")


def user(role: Role, *units: str, active: bool = True, uid: str = "u-x") -> User:
    return User(user_id=uid, username=uid, full_name="Pat Doe", initials="PD", role=role,
                unit_ids=units, active=active)


def test_in_force_from_the_shift_start_until_just_before_its_end() -> None:
    a = assignment("e1", "1")
    assert current([a], START - timedelta(microseconds=1)) is None
    assert current([a], START) == a
    assert current([a], END - timedelta(microseconds=1)) == a
    assert current([a], END) is None  # ends with the shift


def test_a_later_assignment_replaces_the_earlier_one_whatever_the_list_order() -> None:
    first, second = assignment("e1", "2026-03-02T13:00|d|1"), assignment(
        "e2", "2026-03-02T13:30|d|2", rooms=("102",))
    assert current([second, first], START + timedelta(hours=1)) == second
    assert current([first, second], START + timedelta(hours=1)) == second
    # The next shift's assignment, set in advance, does not replace the current one.
    later = assignment("e3", "2026-03-02T14:00|d|3", start=END, end=END + timedelta(hours=8))
    assert current([first, later], START + timedelta(hours=1)) == first
    assert current([first, later], END) == later


@pytest.mark.parametrize("role", ["cna", "facility_admin", "read_only", "pharmacist", "chief"])
def test_an_entry_signed_by_a_role_that_may_not_assign_is_ignored(role: str) -> None:
    honest = assignment("e1", "1")
    forged = assignment("e2", "2", role=role, rooms=("999",))
    assert current([honest, forged], START) == honest


def test_an_assignment_covers_its_rooms_on_its_unit_and_its_named_residents() -> None:
    a = assignment("e1", "1", rooms=("101", "102"), residents=("r-9",))
    assert a.covers(resident("r-1", "101"))
    assert not a.covers(resident("r-2", "103"))
    assert not a.covers(resident("r-3", "101", unit="unit-2"))  # same room number elsewhere
    assert a.covers(resident("r-9", "301", unit="unit-2"))


@pytest.mark.parametrize("setter_role", [Role.NURSE, Role.DIRECTOR_OF_NURSING])
@pytest.mark.parametrize("assignee_role", [Role.NURSE, Role.CNA])
def test_a_nurse_or_director_assigns_a_cna_or_nurse_on_their_unit(
    setter_role: Role, assignee_role: Role
) -> None:
    setter = Principal(user=user(setter_role, "unit-1", uid="u-set"), device_id="d")
    check_assignment(setter, user(assignee_role, "unit-1"), "unit-1", START)
    check_assignment(setter, user(assignee_role, ALL_UNITS), "unit-1", START)


@pytest.mark.parametrize(
    "role", [Role.CNA, Role.FACILITY_ADMIN, Role.PHARMACIST, Role.READ_ONLY]
)
def test_other_roles_may_not_assign(role: Role) -> None:
    setter = Principal(user=user(role, "unit-1", uid="u-set"), device_id="d")
    with pytest.raises(PermissionDenied, match="does not allow: assign shifts"):
        check_assignment(setter, user(Role.CNA, "unit-1"), "unit-1", START)


def test_nobody_is_assigned_rooms_on_a_unit_outside_theirs_or_the_setters() -> None:
    nurse = Principal(user=user(Role.NURSE, "unit-1", uid="u-set"), device_id="d")
    with pytest.raises(PermissionDenied, match="not on your assigned units"):
        check_assignment(nurse, user(Role.CNA, "unit-2"), "unit-2", START)
    with pytest.raises(PermissionDenied, match="not on this unit"):
        check_assignment(nurse, user(Role.CNA, "unit-2"), "unit-1", START)
    with pytest.raises(PermissionDenied, match="not on this unit"):
        check_assignment(nurse, user(Role.CNA), "unit-1", START)  # no unit at all


def test_only_active_cnas_and_nurses_are_assigned() -> None:
    nurse = Principal(user=user(Role.NURSE, ALL_UNITS, uid="u-set"), device_id="d")
    with pytest.raises(ValidationError, match="deactivated"):
        check_assignment(nurse, user(Role.CNA, "unit-1", active=False), "unit-1", START)
    for role in (Role.DIRECTOR_OF_NURSING, Role.PHARMACIST, Role.READ_ONLY,
                 Role.FACILITY_ADMIN):
        with pytest.raises(ValidationError, match="CNAs and nurses"):
            check_assignment(nurse, user(role, "unit-1"), "unit-1", START)


def test_shift_at_names_the_shift_holding_a_moment_at_its_edges() -> None:
    assert shift_at(START, CHI).shift.name == "day"
    assert shift_at(START - timedelta(microseconds=1), CHI).shift.name == "night"
    night = shift_at(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), CHI)  # 02:00 Chicago
    assert night.shift.name == "night" and night.day == date(2026, 3, 1)
    assert night.end == START
    evening = shift_at(END, CHI)
    assert evening.shift.name == "evening" and evening.start == END


def test_rooms_read_as_people_read_them() -> None:
    assert clean_rooms([" 110", "101", "", "12A", "101", "9"]) == ("9", "12A", "101", "110")
    assert rooms_text(["101", "102", "103", "105", "108", "107", "12A"]) == (
        "12A, 101–103, 105, 107–108")
    assert rooms_text(["101"]) == "101"


def test_the_body_names_something_and_lasts_one_shift_at_most() -> None:
    fields = dict(assignment_id="a", user_id="u", unit_id="n", shift_name="day",
                  starts_at=START, ends_at=END)
    kinds.ShiftAssigned(rooms=("101",), **fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one room"):
        kinds.ShiftAssigned(**fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one shift"):
        kinds.ShiftAssigned(rooms=("101",), **{**fields, "ends_at": START})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one shift"):
        kinds.ShiftAssigned(rooms=("101",), **{  # type: ignore[arg-type]
            **fields, "ends_at": START + timedelta(hours=25)})
