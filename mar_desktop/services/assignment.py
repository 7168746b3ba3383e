"""Shift assignments: set them (nurse, director of nursing), read one's own, and see past one's
own with a reason (docs/architecture.md#shift-assignment).

Every method: worker thread. ``assign`` appends a signed ``shift.assigned`` entry (it reaches
every tablet by sync) and its ``shift_assigned`` audit entry in one transaction; choosing the
whole unit and opening a resident outside the assignment append an audit entry with the reason
and tell the shared :class:`~mar_desktop.services.assignment_scope.AssignmentScope`. Refusals
raise PermissionDenied (audited as ``permission_refused``) or ValidationError (nothing
written).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mar_desktop import audit, kinds
from mar_desktop.envelope import new_id
from mar_desktop.errors import NotFound, PermissionDenied, ValidationError
from mar_desktop.model import Resident, User
from mar_desktop.permissions import Permission, Principal, require
from mar_desktop.reports.shifts import ShiftWindow, shift_at
from mar_desktop.services.assignment_scope import AssignmentScope
from mar_desktop.services.base import Ports, Service, nonblank
from mar_desktop.shift_assignment import (
    ASSIGNABLE_ROLES,
    ShiftAssignment,
    check_assignment,
    clean_rooms,
    rooms_text,
)


@dataclass(frozen=True, slots=True)
class AssignmentView:
    """The signed-in person's assignment in force, as the lists show it: ``text`` is the
    "Assigned: rooms 101–108 (set by …)" line; ``whole_unit``: the person chose the whole unit
    (with a reason) and the lists show all of it."""

    assignment: ShiftAssignment
    set_by_name: str
    whole_unit: bool

    @property
    def text(self) -> str:
        a = self.assignment
        parts = []
        if a.rooms:
            parts.append(("room " if len(a.rooms) == 1 else "rooms ") + rooms_text(a.rooms))
        if a.resident_ids:
            count = len(a.resident_ids)
            parts.append(f"{count} named resident" + ("s" if count > 1 else ""))
        return f"Assigned: {' and '.join(parts)} (set by {self.set_by_name})"


class AssignmentService(Service):
    """``scope`` must be the ``MarService``'s (``mar.assignment_scope``), so the reasons given
    here widen what that service shows."""

    def __init__(self, ports: Ports, scope: AssignmentScope) -> None:
        super().__init__(ports)
        self._scope = scope

    # ---- setting (nurse, director of nursing) ---------------------------------------------------
    def shifts(self) -> tuple[ShiftWindow, ShiftWindow]:
        """The current shift and the next (the facility's shift times; no PHI)."""
        facility = self._facility()
        now = self._clock.now()
        this = shift_at(now, facility.zone)
        return this, shift_at(this.end, facility.zone)

    def assignable_people(self, principal: Principal) -> list[User]:
        """Active CNAs and nurses on a unit the principal sees, by name. Needs
        ``assign_shifts`` (refusal audited)."""
        self._require(principal, Permission.ASSIGN_SHIFTS, entity_type="shift_assignment")
        now = self._clock.now()
        units = [u.unit_id for u in self._read.units() if principal.may_see_unit(u.unit_id, now)]
        people = [
            u for u in self._read.users()
            if u.role in ASSIGNABLE_ROLES and (u.all_units or set(u.unit_ids) & set(units))
        ]
        return sorted(people, key=lambda u: u.full_name.casefold())

    def unit_residents(self, principal: Principal, unit_id: str) -> list[Resident]:
        """The current residents of ``unit_id`` (to pick rooms or residents from). Needs
        ``assign_shifts`` on the unit (refusal audited)."""
        self._require(principal, Permission.ASSIGN_SHIFTS, unit_id=unit_id,
                      entity_type="unit", entity_id=unit_id)
        return self._read.residents([unit_id])

    def assignment_of(self, principal: Principal, user_id: str,
                      at: datetime | None = None) -> ShiftAssignment | None:
        """``user_id``'s assignment in force at ``at`` (default now), to show before it is
        replaced. Needs ``assign_shifts`` (refusal audited)."""
        self._require(principal, Permission.ASSIGN_SHIFTS, entity_type="user", entity_id=user_id)
        user = self._read.user(user_id)
        if user is None:
            raise NotFound("No such person.")
        moment = at or self._clock.now()
        return AssignmentScope.in_force(self._read, _as(user, principal), moment)

    def assign(
        self,
        principal: Principal,
        user_id: str,
        unit_id: str,
        *,
        rooms: Sequence[str] = (),
        resident_ids: Sequence[str] = (),
        next_shift: bool = False,
        note: str = "",
    ) -> ShiftAssignment:
        """Assigns ``user_id`` the ``rooms`` and ``resident_ids`` of ``unit_id`` for the current
        shift (or the next one), replacing their assignment for it. Raises PermissionDenied
        (audited as ``permission_refused``) unless the principal may assign on the unit and
        the person is on it; NotFound or ValidationError (nothing written) for an unknown,
        inactive or unassignable person, a resident not on the unit, or nothing chosen."""
        now = self._clock.now()
        try:
            assignee = self._read.user(user_id)
            if assignee is None:
                raise NotFound("No such person.")
            check_assignment(principal, assignee, unit_id, now)
        except PermissionDenied as refused:
            self._append([audit.audit_for(
                principal, audit.PERMISSION_REFUSED, entity_type="user", entity_id=user_id,
                detail=f"{Permission.ASSIGN_SHIFTS.value}: {refused}",
            )])
            raise
        chosen_rooms = clean_rooms(rooms)
        chosen = tuple(dict.fromkeys(r.strip() for r in resident_ids if r.strip()))
        on_unit = {r.resident_id for r in self._read.residents([unit_id])}
        if any(r not in on_unit for r in chosen):
            raise ValidationError("A chosen resident is not on this unit.")
        if not chosen_rooms and not chosen:
            raise ValidationError("Choose at least one room or resident.")
        this, following = self.shifts()
        window = following if next_shift else this
        body = kinds.ShiftAssigned(
            assignment_id=new_id(),
            user_id=user_id,
            unit_id=unit_id,
            rooms=chosen_rooms,
            resident_ids=chosen,
            shift_name=window.shift.name,
            starts_at=window.start,
            ends_at=window.end,
            note=note.strip(),
        )
        after = {"unit_id": unit_id, "rooms": list(chosen_rooms),
                 "resident_ids": list(chosen), "shift": window.shift.name,
                 "starts_at": body.starts_at.isoformat(), "ends_at": body.ends_at.isoformat()}
        [entry, _audit] = self._append([
            kinds.draft(kinds.SHIFT_ASSIGNED, principal.actor, body),
            audit.audit_for(principal, audit.SHIFT_ASSIGNED, entity_type="user",
                            entity_id=user_id, after=after),
        ])
        return ShiftAssignment(
            entry_id=entry.id, assignment_id=body.assignment_id, user_id=user_id,
            unit_id=unit_id, rooms=chosen_rooms, resident_ids=chosen,
            shift_name=body.shift_name, starts_at=body.starts_at, ends_at=body.ends_at,
            set_by_user_id=principal.user.user_id, set_by_role=principal.role.value,
            recorded_at=datetime.fromisoformat(entry.recorded_at), stamp="", note=body.note,
        )

    # ---- the assigned person --------------------------------------------------------------------
    def mine(self, principal: Principal) -> AssignmentView | None:
        """The principal's assignment in force now, or None. Needs ``view_mar``."""
        require(principal, Permission.VIEW_MAR, now=self._clock.now())
        assignment = self._in_force(principal)
        if assignment is None:
            return None
        setter = self._read.user(assignment.set_by_user_id)
        name = setter.full_name if setter is not None else "another device's user"
        return AssignmentView(assignment, name, self._scope.whole_unit(principal, assignment))

    def show_whole_unit(self, principal: Principal, reason: str) -> None:
        """From now until the assignment ends or is replaced, the principal's lists show their
        whole units. Appends an ``assignment_widened`` audit entry with ``reason``; raises
        ValidationError for a blank reason or when no assignment is in force."""
        why = nonblank(reason, "A reason")
        assignment = self._required(principal)
        self._append([audit.audit_for(
            principal, audit.ASSIGNMENT_WIDENED, entity_type="shift_assignment",
            entity_id=assignment.entry_id, detail=why,
        )])
        self._scope.set_whole_unit(principal, assignment, True)

    def show_assigned_only(self, principal: Principal) -> None:
        """Back to the assignment only (narrows; nothing written)."""
        assignment = self._in_force(principal)
        if assignment is not None:
            self._scope.set_whole_unit(principal, assignment, False)

    def open_outside(self, principal: Principal, resident_id: str, reason: str) -> None:
        """Lets the principal open ``resident_id``'s record (on their units, outside their
        assignment) for the rest of the assignment. Appends an ``outside_assignment_opened``
        audit entry with ``reason``. Raises ValidationError for a blank reason,
        PermissionDenied (audited) for a resident outside the principal's units."""
        why = nonblank(reason, "A reason")
        self._resident_in_scope(principal, resident_id, Permission.VIEW_MAR)
        assignment = self._required(principal)
        self._append([audit.audit_for(
            principal, audit.OUTSIDE_ASSIGNMENT_OPENED, entity_type="resident",
            entity_id=resident_id, detail=why,
        )])
        self._scope.note_opened(principal, assignment, resident_id)

    def _in_force(self, principal: Principal) -> ShiftAssignment | None:
        return self._scope.in_force(self._read, principal, self._clock.now())

    def _required(self, principal: Principal) -> ShiftAssignment:
        assignment = self._in_force(principal)
        if assignment is None:
            raise ValidationError("You have no assignment for this shift.")
        return assignment


def _as(user: User, principal: Principal) -> Principal:
    """``user`` as a principal on the same device (to read their assignment)."""
    return Principal(user=user, device_id=principal.device_id)
