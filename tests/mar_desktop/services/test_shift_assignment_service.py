"""Shift assignments through the services on a real store: a nurse assigns a CNA rooms for the
shift (signed entry and audit), the CNA's overview and pass list show only those rooms with the
"Assigned" line, a resident outside opens only with a reason (audited), the whole unit only
with a reason (audited); replaced by a later assignment, gone when the shift ends; refused for
roles that may not assign and for another unit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mar_desktop import kinds
from mar_desktop.errors import PermissionDenied, ValidationError
from mar_desktop.model import Resident
from mar_desktop.services.assignment import AssignmentService
from mar_desktop.services.mar import MarService
from mar_desktop.shift_assignment import OutsideAssignment
from tests.facility import World


def services(world: World) -> tuple[MarService, AssignmentService]:
    mar = MarService(world.ports)
    return mar, AssignmentService(world.ports, mar.assignment_scope)


def units(world: World) -> tuple[str, str]:
    first, second = sorted(world.store.reader().units(), key=lambda u: u.name)
    return first.unit_id, second.unit_id  # Maple Wing (the CNA's), Oak Wing


def residents_of(world: World, unit_id: str) -> list[Resident]:
    return sorted((r for r in world.seeded.demo.residents if r.unit_id == unit_id),
                  key=lambda r: r.room)


def audited(world: World, action: str) -> list[dict[str, object]]:
    conn = world.store.connect_reader()
    try:
        rows = conn.execute(
            "SELECT json_extract(raw, '$.body') FROM audit WHERE kind = ? ORDER BY seq",
            (f"audit.{action}",),
        ).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0]) for r in rows]


def ledger_kinds(world: World) -> list[str]:
    conn = world.store.connect_reader()
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM ledger ORDER BY rowid")]
    finally:
        conn.close()


def test_the_cna_sees_only_her_assigned_rooms_and_the_line_says_who_set_them(
    world: World,
) -> None:
    mar, assignments = services(world)
    maple, _oak = units(world)
    cna, nurse = world.principal("cna"), world.principal("nurse")
    assert {s.resident.room for s in mar.unit_overview(cna)} == {"101A", "101B", "102A", "102B"}
    assert assignments.mine(cna) is None

    made = assignments.assign(nurse, cna.user.user_id, maple, rooms=["101A", "101B"])
    assert ledger_kinds(world)[-1] == kinds.SHIFT_ASSIGNED
    [record] = audited(world, "shift_assigned")
    assert record["entity_id"] == cna.user.user_id
    assert record["after"]["rooms"] == ["101A", "101B"]  # type: ignore[index]
    this, _next = assignments.shifts()
    assert (made.starts_at, made.ends_at) == (this.start, this.end)

    assert {s.resident.room for s in mar.unit_overview(cna)} == {"101A", "101B"}
    assert {i.resident.room for i in mar.pass_list(cna).items} <= {"101A", "101B"}
    assert {s.resident.room for s in mar.unit_overview(cna, maple)} == {"101A", "101B"}
    view = assignments.mine(cna)
    assert view is not None and not view.whole_unit
    assert view.text == "Assigned: rooms 101A, 101B (set by Marisol Ortega)"
    # The nurse who set it is not narrowed.
    assert len(mar.unit_overview(nurse)) == 8


def test_a_resident_outside_the_assignment_opens_only_with_a_reason_which_is_audited(
    world: World,
) -> None:
    mar, assignments = services(world)
    maple, _oak = units(world)
    cna, nurse = world.principal("cna"), world.principal("nurse")
    inside, _b, outside, _d = residents_of(world, maple)
    assignments.assign(nurse, cna.user.user_id, maple, rooms=[inside.room])
    mar.resident_mar(cna, inside.resident_id)  # on the assignment: opens

    with pytest.raises(OutsideAssignment, match="not on your assignment"):
        mar.resident_mar(cna, outside.resident_id)
    viewed = [r["entity_id"] for r in audited(world, "resident_viewed")]
    assert outside.resident_id not in viewed  # nothing shown, nothing recorded as seen
    with pytest.raises(ValidationError, match="reason"):
        assignments.open_outside(cna, outside.resident_id, "   ")
    assert audited(world, "outside_assignment_opened") == []
    with pytest.raises(OutsideAssignment):
        mar.resident_mar(cna, outside.resident_id)

    assignments.open_outside(cna, outside.resident_id, "covering Sam's break")
    [record] = audited(world, "outside_assignment_opened")
    assert (record["entity_id"], record["detail"]) == (outside.resident_id,
                                                       "covering Sam's break")
    assert mar.resident_mar(cna, outside.resident_id).resident == outside
    # Opening one resident does not put them on the lists.
    assert {s.resident.room for s in mar.unit_overview(cna)} == {inside.room}


def test_the_whole_unit_needs_a_reason_audited_and_the_switch_back_narrows_again(
    world: World,
) -> None:
    mar, assignments = services(world)
    maple, _oak = units(world)
    cna, nurse = world.principal("cna"), world.principal("nurse")
    assignments.assign(nurse, cna.user.user_id, maple, rooms=["102A"])
    with pytest.raises(ValidationError):
        assignments.show_whole_unit(cna, "")
    assert len(mar.unit_overview(cna)) == 1
    assignments.show_whole_unit(cna, "only CNA on the wing after 15:00")
    assert len(mar.unit_overview(cna)) == 4
    view = assignments.mine(cna)
    assert view is not None and view.whole_unit
    [record] = audited(world, "assignment_widened")
    assert record["detail"] == "only CNA on the wing after 15:00"
    other = residents_of(world, maple)[0]
    mar.resident_mar(cna, other.resident_id)  # the whole unit opens without asking again
    assignments.show_assigned_only(cna)
    assert [s.resident.room for s in mar.unit_overview(cna)] == ["102A"]


def test_a_later_assignment_replaces_it_and_the_shift_end_ends_it(world: World) -> None:
    mar, assignments = services(world)
    maple, _oak = units(world)
    cna, nurse = world.principal("cna"), world.principal("nurse")
    assignments.assign(nurse, cna.user.user_id, maple, rooms=["101A"])
    world.clock.advance(timedelta(minutes=5))
    assignments.assign(nurse, cna.user.user_id, maple, rooms=["102A", "102B"])
    assert {s.resident.room for s in mar.unit_overview(cna)} == {"102A", "102B"}
    # Set in advance for the next shift: the current one stays until its end.
    assignments.assign(nurse, cna.user.user_id, maple, rooms=["101B"], next_shift=True)
    assert {s.resident.room for s in mar.unit_overview(cna)} == {"102A", "102B"}
    this, following = assignments.shifts()
    world.clock.set(this.end - timedelta(microseconds=1))
    assert {s.resident.room for s in mar.unit_overview(cna)} == {"102A", "102B"}
    world.clock.set(this.end)
    assert {s.resident.room for s in mar.unit_overview(cna)} == {"101B"}
    world.clock.set(following.end)  # nothing assigned for the shift after: the whole unit
    assert len(mar.unit_overview(cna)) == 4
    assert assignments.mine(cna) is None


def test_named_residents_are_assigned_and_must_be_on_the_unit(world: World) -> None:
    mar, assignments = services(world)
    maple, oak = units(world)
    cna, nurse = world.principal("cna"), world.principal("nurse")
    chosen = residents_of(world, maple)[3]
    with pytest.raises(ValidationError, match="not on this unit"):
        assignments.assign(nurse, cna.user.user_id, maple,
                           resident_ids=[residents_of(world, oak)[0].resident_id])
    with pytest.raises(ValidationError, match="at least one"):
        assignments.assign(nurse, cna.user.user_id, maple, rooms=[" "])
    assert audited(world, "shift_assigned") == []
    assignments.assign(nurse, cna.user.user_id, maple, resident_ids=[chosen.resident_id])
    assert [s.resident for s in mar.unit_overview(cna)] == [chosen]
    view = assignments.mine(cna)
    assert view is not None and view.text.startswith("Assigned: 1 named resident (set by")


@pytest.mark.parametrize("username", ["cna", "admin", "surveyor"])
def test_roles_that_may_not_assign_are_refused_and_the_refusal_audited(
    world: World, username: str
) -> None:
    _mar, assignments = services(world)
    maple, _oak = units(world)
    cna = world.principal("cna")
    with pytest.raises(PermissionDenied, match="assign shifts"):
        assignments.assign(world.principal(username), cna.user.user_id, maple, rooms=["101A"])
    with pytest.raises(PermissionDenied):
        assignments.assignable_people(world.principal(username))
    assert kinds.SHIFT_ASSIGNED not in ledger_kinds(world)
    refusals = audited(world, "permission_refused")
    assert len(refusals) == 2 and all("assign_shifts" in str(r["detail"]) for r in refusals)


def test_no_one_is_assigned_on_a_unit_that_is_not_theirs(world: World) -> None:
    _mar, assignments = services(world)
    maple, oak = units(world)
    cna, nurse = world.principal("cna"), world.principal("nurse")
    with pytest.raises(PermissionDenied, match="not on this unit"):
        assignments.assign(nurse, cna.user.user_id, oak, rooms=["201A"])
    maple_nurse = nurse.__class__(
        user=nurse.user.model_copy(update={"unit_ids": (maple,)}), device_id=nurse.device_id)
    with pytest.raises(PermissionDenied, match="not on your assigned units"):
        assignments.assign(maple_nurse, world.principal("nurse2").user.user_id, oak,
                           rooms=["201A"])
    assert kinds.SHIFT_ASSIGNED not in ledger_kinds(world)
    people = {u.username for u in assignments.assignable_people(nurse)}
    assert people == {"nurse", "nurse2", "cna"}


def test_the_assignment_survives_a_projection_rebuild(world: World) -> None:
    from storage.projections import rebuild

    mar, assignments = services(world)
    maple, _oak = units(world)
    cna, nurse = world.principal("cna"), world.principal("nurse")
    assignments.assign(nurse, cna.user.user_id, maple, rooms=["101A"])
    conn = world.store.connect_reader()
    try:
        rebuild(conn)
    finally:
        conn.close()
    assert [s.resident.room for s in mar.unit_overview(cna)] == ["101A"]
