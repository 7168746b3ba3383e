"""What a person's shift assignment hides from their lists, and what they opened past it with a
reason (docs/architecture.md#shift-assignment).

One :class:`AssignmentScope` per app process, shared by ``MarService`` (which narrows the
overview and the pass list and refuses a resident outside the assignment with
:class:`~mar_desktop.shift_assignment.OutsideAssignment`) and ``AssignmentService`` (which
records the reasons, audited, and tells this object). The reasons given are kept in memory
only, per person, device and assignment entry: a new assignment or the end of the shift asks
again. Thread-safe; reads the read model it is handed, writes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from mar_desktop.model import Resident
from mar_desktop.permissions import Principal
from mar_desktop.ports import ReadModel
from mar_desktop.shift_assignment import ASSIGNABLE_ROLES, ShiftAssignment, current

_Key = tuple[str, str, str]  # user id, device id, assignment entry id


class AssignmentScope:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._whole_unit: set[_Key] = set()
        self._opened: dict[_Key, set[str]] = {}

    @staticmethod
    def in_force(read: ReadModel, principal: Principal, now: datetime) -> ShiftAssignment | None:
        """The principal's assignment in force at ``now``; None for a role never narrowed."""
        if principal.role not in ASSIGNABLE_ROLES:
            return None
        user_id = principal.user.user_id
        return current(read.shift_assignments(user_id, since=now, until=now), now)

    @staticmethod
    def _key(principal: Principal, assignment: ShiftAssignment) -> _Key:
        return (principal.user.user_id, principal.device_id, assignment.entry_id)

    def whole_unit(self, principal: Principal, assignment: ShiftAssignment) -> bool:
        """Whether the person chose the whole unit over this assignment (with a reason)."""
        with self._lock:
            return self._key(principal, assignment) in self._whole_unit

    def set_whole_unit(self, principal: Principal, assignment: ShiftAssignment, on: bool) -> None:
        key = self._key(principal, assignment)
        with self._lock:
            if on:
                self._whole_unit.add(key)
            else:
                self._whole_unit.discard(key)

    def note_opened(self, principal: Principal, assignment: ShiftAssignment,
                    resident_id: str) -> None:
        with self._lock:
            self._opened.setdefault(self._key(principal, assignment), set()).add(resident_id)

    def may_open(self, principal: Principal, assignment: ShiftAssignment, resident: Resident,
                 now: datetime) -> bool:
        """Whether ``resident``'s record opens without asking: on the assignment, on a unit
        of active break-the-glass access, or the person gave a reason (the whole unit, or
        this resident) for this assignment."""
        if assignment.covers(resident) or _emergency_unit(principal, resident, now):
            return True
        key = self._key(principal, assignment)
        with self._lock:
            return key in self._whole_unit or resident.resident_id in self._opened.get(key, ())

    def narrow(self, principal: Principal, assignment: ShiftAssignment | None,
               residents: Iterable[Resident], now: datetime) -> list[Resident]:
        """``residents`` as the person's lists show them: those of the assignment (and of
        active break-the-glass units), or all of them once the whole unit was chosen."""
        if assignment is None or self.whole_unit(principal, assignment):
            return list(residents)
        return [
            r for r in residents
            if assignment.covers(r) or _emergency_unit(principal, r, now)
        ]


def _emergency_unit(principal: Principal, resident: Resident, now: datetime) -> bool:
    until = principal.emergency_until
    return until is not None and now < until and resident.unit_id in principal.emergency_units
