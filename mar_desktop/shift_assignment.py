"""Shift assignment: the rooms and residents one CNA or nurse works for one shift
(docs/architecture.md#shift-assignment).

An assignment narrows what its person's pass list and overview show ("view assigned only");
it is not a change of the account's units and grants nothing: the unit scope
(:meth:`mar_desktop.permissions.Principal.unit_scope`) stays the authority for what a person
may see. Set by a nurse or a director of nursing (``assign_shifts``) for a CNA or nurse on a
unit both share; replaced by a later assignment of the same person for the same moment; ends
with its shift. Pure: no storage, any thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mar_desktop.errors import PermissionDenied, ValidationError
from mar_desktop.model import Resident, Role, User
from mar_desktop.permissions import Permission, Principal, allowed, require

ASSIGNABLE_ROLES = frozenset({Role.CNA, Role.NURSE})
"""Who is given rooms for a shift: those whose view is narrowed by their unit assignment. The
roles that see every unit (admin, director, pharmacist, surveyor) are never narrowed."""


@dataclass(frozen=True, slots=True)
class ShiftAssignment:
    """One ``shift.assigned`` entry as the read model holds it. ``stamp`` orders replacements
    (recorded_at, device, seq: the last writer wins, the same on every tablet)."""

    entry_id: str
    assignment_id: str
    user_id: str
    unit_id: str
    rooms: tuple[str, ...]
    resident_ids: tuple[str, ...]
    shift_name: str
    starts_at: datetime
    ends_at: datetime
    set_by_user_id: str
    set_by_role: str
    recorded_at: datetime
    stamp: str
    note: str = ""

    def active_at(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at

    def covers(self, resident: Resident) -> bool:
        """Whether ``resident`` is on this assignment: named, or in one of its rooms on its
        unit (a resident moved into an assigned room is on it; one moved out is not)."""
        return resident.resident_id in self.resident_ids or (
            resident.unit_id == self.unit_id and resident.room in self.rooms
        )


def current(assignments: Iterable[ShiftAssignment], moment: datetime) -> ShiftAssignment | None:
    """The assignment in force at ``moment``: of those whose shift holds it, the last recorded
    (it replaced the others). An entry whose signer's role may not assign is ignored (it could
    only have come from a tampered or misbehaving device)."""
    live = [
        a
        for a in assignments
        if a.active_at(moment) and _may_assign(a.set_by_role)
    ]
    return max(live, key=lambda a: a.stamp, default=None)


def _may_assign(role: str) -> bool:
    try:
        return allowed(Role(role), Permission.ASSIGN_SHIFTS)
    except ValueError:  # a role this version does not know: the most restrictive reading
        return False


def check_assignment(setter: Principal, assignee: User, unit_id: str, now: datetime) -> None:
    """Raises unless ``setter`` may assign ``assignee`` rooms on ``unit_id``: the setter holds
    ``assign_shifts`` and sees the unit (PermissionDenied), the assignee is an active CNA or
    nurse on that unit (ValidationError; an assignment never adds a unit to an account)."""
    require(setter, Permission.ASSIGN_SHIFTS, unit_id=unit_id, now=now)
    if not assignee.active:
        raise ValidationError(f"{assignee.full_name}'s account is deactivated.")
    if assignee.role not in ASSIGNABLE_ROLES:
        raise ValidationError(
            f"Rooms are assigned to CNAs and nurses; {assignee.full_name} sees every unit."
        )
    if not (assignee.all_units or unit_id in assignee.unit_ids):
        raise PermissionDenied(
            f"{assignee.full_name} is not on this unit. Assigning rooms does not change a "
            "person's units: ask a facility administrator."
        )


def clean_rooms(rooms: Iterable[str]) -> tuple[str, ...]:
    """Rooms stripped, blanks dropped, each once, in the order people read them."""
    unique = {room.strip() for room in rooms if room.strip()}
    return tuple(sorted(unique, key=room_key))


def room_key(room: str) -> tuple[tuple[int, int | str], ...]:
    """Sorts rooms as people read them: "2" before "10", "12A" after "12"."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in re.findall(r"\d+|\D+", room))


def rooms_text(rooms: Iterable[str]) -> str:
    """Rooms in a short line: consecutive numbered rooms as a range ("101–108, 110, 12A")."""
    ordered = clean_rooms(rooms)
    parts: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}")
            run.clear()

    for room in ordered:
        if room.isdigit() and not room.startswith("0"):
            number = int(room)
            if run and number != run[-1] + 1:
                flush()
            run.append(number)
        else:
            flush()
            parts.append(room)
    flush()
    return ", ".join(parts)


class OutsideAssignment(PermissionDenied):
    """The resident is on the person's units but not on their assignment for this shift: the
    record opens only once a reason is given (``AssignmentService.open_outside``, audited)."""

    def __init__(self) -> None:
        super().__init__(
            "This resident is not on your assignment for this shift. Give a reason to open "
            "the record."
        )
