"""Recording through the services on a real encrypted store: rules, scans, audit, scope."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mar_desktop.clinical.schedule import expand_schedule
from mar_desktop.demo.history import demo_witness_entry, scan_string
from mar_desktop.envelope import AUDIT_PREFIX
from mar_desktop.errors import PermissionDenied, RuleViolation
from mar_desktop.kinds import Vitals, WitnessAttestation
from mar_desktop.model import DoseStatus, Order, Outcome
from mar_desktop.services.recording import AdministrationRequest
from tests.facility import World


def next_slot(world: World, order: Order) -> object:
    read = world.ports.reader()
    state = read.order(order.order_id)
    facility = read.facility()
    assert state is not None and facility is not None
    now = world.clock.now()
    return expand_schedule(state, now, now + timedelta(days=2), facility.zone)[0]


def given(world: World, drug: str, **changes: object) -> tuple[AdministrationRequest, object]:
    resident, order = world.resident_with(drug)
    slot = next_slot(world, order)
    world.clock.set(slot + timedelta(minutes=3))  # type: ignore[operator]
    fields: dict[str, object] = dict(
        resident_id=resident.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
        scheduled_for=slot, wristband_scan=resident.wristband_id,
        medication_scan=scan_string(order), allergy_acknowledged=True,
    )
    fields.update(changes)
    return AdministrationRequest(**fields), slot  # type: ignore[arg-type]


def audit_kinds(world: World) -> list[str]:
    conn = world.store.connect_reader()
    try:
        return [row[0] for row in conn.execute("SELECT kind FROM audit ORDER BY seq")]
    finally:
        conn.close()


def test_on_time_scanned_dose_is_recorded_and_audited(world: World) -> None:
    request, slot = given(world, "Atorvastatin")
    entry = world.recording.record_administration(world.principal("nurse"), request)
    record = world.ports.reader().administration(entry.id)
    assert record is not None
    assert record.outcome == Outcome.GIVEN and record.scheduled_for == slot
    assert entry.body["scan"]["medication_scanned"] is True
    assert entry.body["dose_given"] == "20" and entry.body["route"] == "oral"
    assert audit_kinds(world)[-1] == AUDIT_PREFIX + "record_created"
    mar = world.mar.resident_mar(world.principal("nurse"), request.resident_id)
    statuses = {d.scheduled_for: d.status for d in mar.doses_today}
    assert statuses.get(slot) in (DoseStatus.GIVEN, None)  # slot may be tomorrow
    assert audit_kinds(world)[-1] == AUDIT_PREFIX + "resident_viewed"


def test_wrong_resident_scan_is_blocked_and_nothing_written(world: World) -> None:
    request, _ = given(world, "Atorvastatin")
    other = next(r for r in world.seeded.demo.residents if r.resident_id != request.resident_id)
    before = len(audit_kinds(world))
    bad = AdministrationRequest(**{**request.__dict__, "wristband_scan": other.wristband_id})
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), bad)
    assert refused.value.code == "wrong_resident"
    assert len(audit_kinds(world)) == before


def test_wrong_medication_and_expired_lot_are_blocked(world: World) -> None:
    request, _ = given(world, "Atorvastatin")
    _, other_order = world.resident_with("Metformin")
    wrong = AdministrationRequest(**{**request.__dict__,
                                     "medication_scan": scan_string(other_order)})
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), wrong)
    assert refused.value.code == "wrong_medication"
    _, order = world.resident_with("Atorvastatin")
    expired = AdministrationRequest(**{**request.__dict__,
                                       "medication_scan": scan_string(order, expiry="250101")})
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), expired)
    assert refused.value.code == "expired"


def test_given_without_scans_or_confirmation_is_refused(world: World) -> None:
    request, _ = given(world, "Atorvastatin", wristband_scan=None)
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert refused.value.code == "identity_unconfirmed"
    confirmed = AdministrationRequest(**{**request.__dict__, "identity_confirmed": True})
    entry = world.recording.record_administration(world.principal("nurse"), confirmed)
    assert entry.body["scan"]["identity_confirmed"] is True


def test_insulin_with_low_glucose_must_be_held(world: World) -> None:
    low = Vitals(glucose=Decimal(62))
    request, _ = given(world, "Insulin glargine", vitals=low, site="left abdomen")
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert refused.value.code == "hold_parameters"
    held = AdministrationRequest(**{**request.__dict__, "outcome": Outcome.HELD,
                                    "reason_code": "H", "medication_scan": None})
    entry = world.recording.record_administration(world.principal("nurse"), held)
    assert entry.body["outcome"] == "held" and entry.body["vitals"]["glucose"] == "62"


def test_insulin_needs_glucose_and_site(world: World) -> None:
    request, _ = given(world, "Insulin glargine", site="left thigh")
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert refused.value.code == "vitals_required"
    ok = AdministrationRequest(**{**request.__dict__, "vitals": Vitals(glucose=Decimal(140)),
                                  "site": ""})
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), ok)
    assert refused.value.code == "site_required"


def test_schedule_ii_needs_a_licensed_other_witness(world: World) -> None:
    request, _ = given(world, "Morphine")
    nurse = world.principal("nurse")
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(nurse, request)
    assert refused.value.code == "witness_missing"
    other = world.principal("nurse2").user
    witness = WitnessAttestation(user_id=other.user_id, full_name=other.full_name,
                                 role=other.role, authenticated_at=world.clock.now())
    with pytest.raises(RuleViolation) as refused:  # an attestation no sign-in produced
        world.recording.record_administration(
            nurse, AdministrationRequest(**{**request.__dict__, "witness": witness}))
    assert refused.value.code == "witness_missing"
    order = world.ports.reader().order(request.order_id)
    assert order is not None
    cna = world.principal("cna").user
    as_cna = WitnessAttestation(user_id=cna.user_id, full_name=cna.full_name, role=cna.role,
                                authenticated_at=world.clock.now())
    by_cna = demo_witness_entry(world.store.ledger, nurse, as_cna, request.resident_id,
                                order.order, request.scheduled_for)
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(
            nurse, AdministrationRequest(**{**request.__dict__, "witness_entry_id": by_cna}))
    assert refused.value.code == "witness_unlicensed"
    proven = demo_witness_entry(world.store.ledger, nurse, witness, request.resident_id,
                                order.order, request.scheduled_for)
    entry = world.recording.record_administration(
        nurse, AdministrationRequest(**{**request.__dict__, "witness_entry_id": proven}))
    assert entry.body["witness"]["user_id"] == other.user_id
    stored = world.store.ledger.entry(proven)
    assert stored is not None and stored.body["record_entry_id"] == entry.id


def test_read_only_cannot_record_and_the_refusal_is_audited(world: World) -> None:
    request, _ = given(world, "Atorvastatin")
    with pytest.raises(PermissionDenied):
        world.recording.record_administration(world.principal("surveyor"), request)
    assert audit_kinds(world)[-1] == AUDIT_PREFIX + "permission_refused"
    assert world.ports.reader().administrations(
        since=world.clock.now() - timedelta(days=1), until=world.clock.now() + timedelta(days=1)
    ) == []


def test_cna_cannot_see_or_record_on_an_unassigned_unit(world: World) -> None:
    cna = world.principal("cna")
    assigned = set(cna.user.unit_ids)
    outside = next(r for r in world.seeded.demo.residents if r.unit_id not in assigned)
    with pytest.raises(PermissionDenied):
        world.mar.resident_mar(cna, outside.resident_id)
    overview = world.mar.unit_overview(cna)
    assert overview and all(s.resident.unit_id in assigned for s in overview)


def test_an_out_of_unit_wristband_names_its_unit_not_its_resident(world: World) -> None:
    cna = world.principal("cna")
    outside = next(r for r in world.seeded.demo.residents
                   if r.unit_id not in set(cna.user.unit_ids))
    unit = next(u for u in world.ports.reader().units() if u.unit_id == outside.unit_id)
    with pytest.raises(PermissionDenied) as refused:
        world.mar.find_by_wristband(cna, outside.wristband_id)
    message = str(refused.value)
    assert f"a resident of {unit.name}" in message
    for detail in (outside.given_name, outside.family_name, outside.room,
                   outside.resident_id, outside.date_of_birth.isoformat()):
        assert detail not in message
    assert audit_kinds(world)[-1] == AUDIT_PREFIX + "permission_refused"
    # Someone whose assignment covers the unit is simply given the resident.
    assert world.mar.find_by_wristband(world.principal("nurse"),
                                       outside.wristband_id) == outside


def test_amend_then_void_keeps_the_original(world: World) -> None:
    request, _ = given(world, "Atorvastatin")
    nurse = world.principal("nurse")
    entry = world.recording.record_administration(nurse, request)
    world.clock.advance(timedelta(minutes=30))
    world.recording.amend_note(nurse, entry.id, "Took with applesauce.")
    with pytest.raises(RuleViolation) as refused:
        world.recording.amend_note(world.principal("nurse2"), entry.id, "Not mine")
    assert refused.value.code == "amend_not_author"
    world.recording.void_entry(nurse, entry.id, "Charted on the wrong order")
    record = world.ports.reader().administration(entry.id)
    assert record is not None
    assert record.voided and record.void_reason == "Charted on the wrong order"
    assert record.current_note == "Took with applesauce." and record.note == ""
    with pytest.raises(PermissionDenied):
        world.recording.void_entry(world.principal("cna"), entry.id, "again")


def test_prn_interval_enforced_then_follow_up(world: World) -> None:
    resident, order = world.resident_with("Acetaminophen")
    nurse = world.principal("nurse")
    request = AdministrationRequest(
        resident_id=resident.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
        wristband_scan=resident.wristband_id, medication_scan=scan_string(order),
        prn_reason="Knee pain", pain_score=6, allergy_acknowledged=True,
    )
    entry = world.recording.record_administration(nurse, request)
    world.clock.advance(timedelta(hours=3, minutes=59))
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(nurse, request)
    assert refused.value.code == "prn_interval"
    world.clock.advance(timedelta(minutes=1))
    followups = world.mar.resident_mar(nurse, resident.resident_id).followups_due
    assert [r.entry_id for r in followups] == [entry.id]
    world.recording.record_prn_followup(nurse, entry.id, "effective", pain_score=2)
    assert world.mar.resident_mar(nurse, resident.resident_id).followups_due == ()
    world.recording.record_administration(nurse, request)


def test_alerts_follow_the_unit_scope_and_can_be_acknowledged(world: World) -> None:
    from mar_desktop import kinds
    from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft

    cna = world.principal("cna")
    outside = next(r for r in world.seeded.demo.residents if r.unit_id not in cna.user.unit_ids)
    alert = kinds.AlertRaised(alert_id="alert-1", alert_type="double_dose",
                              resident_id=outside.resident_id, detail="two devices")
    world.ports.ledger.append(
        [EntryDraft(kinds.ALERT_RAISED, SYSTEM_ACTOR, kinds.body_json(alert))])
    nurse = world.principal("nurse")
    assert [a.alert_id for a in world.mar.alerts(nurse)] == ["alert-1"]
    assert world.mar.alerts(cna) == []
    world.recording.acknowledge_alert(nurse, "alert-1", "Checked with both nurses")
    assert world.mar.alerts(nurse) == []
    assert [a.ack_comment for a in world.mar.alerts(nurse, open_only=False)] == [
        "Checked with both nurses"]


# ---- the dose is the order's -----------------------------------------------------------------
def _ledger_count(world: World) -> tuple[int, int]:
    conn = world.store.connect_reader()
    try:
        return (
            int(conn.execute("SELECT count(*) FROM ledger").fetchone()[0]),
            int(conn.execute("SELECT count(*) FROM audit").fetchone()[0]),
        )
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("typed", "unit", "code"),
    [
        ("19", None, "dose_mismatch"),
        ("21", None, "dose_mismatch"),
        ("200", None, "dose_mismatch"),
        ("0.2", "g", "dose_mismatch"),
        ("20", "mL", "dose_unit"),
        ("0", None, "dose_invalid"),
        (Decimal(0), None, "dose_invalid"),
        ("-1", None, "dose_invalid"),
        ("NaN", None, "dose_invalid"),
        ("1e9", None, "dose_invalid"),
    ],
)
def test_a_dose_other_than_the_orders_is_refused_and_nothing_written(
    world: World, typed: object, unit: str | None, code: str
) -> None:
    """Atorvastatin 20 mg: 19, 21, 200 mg, 0.2 g, mL, zero, negative, NaN, exponents."""
    request, _ = given(world, "Atorvastatin", dose_given=typed, dose_unit=unit)
    before = _ledger_count(world)
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert refused.value.code == code and refused.value.field == "dose"
    assert _ledger_count(world) == before


@pytest.mark.parametrize(
    ("typed", "unit", "comma"),
    [("20", None, False), ("20", "mg", False), ("0.02", "g", False), ("20000", "mcg", False),
     ("20,0", None, True), (None, None, False)],
)
def test_the_orders_dose_in_any_unit_that_converts_is_stored_as_ordered(
    world: World, typed: str | None, unit: str | None, comma: bool
) -> None:
    request, _ = given(world, "Atorvastatin", dose_given=typed, dose_unit=unit, decimal_comma=comma)
    entry = world.recording.record_administration(world.principal("nurse"), request)
    assert (entry.body["dose_given"], entry.body["dose_unit"]) == ("20", "mg")


def test_a_route_other_than_the_orders_is_refused(world: World) -> None:
    request, _ = given(world, "Atorvastatin", route="IV")
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert refused.value.code == "route_mismatch" and refused.value.field == "route"
    same, _ = given(world, "Atorvastatin", route="PO")
    entry = world.recording.record_administration(world.principal("nurse"), same)
    assert entry.body["route"] == "oral"


# ---- scope of practice -----------------------------------------------------------------------
def test_a_cna_cannot_record_an_injection_or_schedule_ii_and_nothing_is_written(
    world: World,
) -> None:
    cna = world.principal("cna")
    refused_any = False
    residents = {r.resident_id: r for r in world.seeded.demo.residents}
    for order in world.seeded.demo.orders:
        resident = residents[order.resident_id]
        if resident.unit_id not in cna.user.unit_ids and cna.user.unit_ids:
            continue
        injectable = order.route.lower() in ("subcutaneous", "sc", "sq", "im", "iv")
        if not (injectable or order.controlled_schedule == "II"):
            continue
        request = AdministrationRequest(
            resident_id=resident.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
            wristband_scan=resident.wristband_id, medication_scan=scan_string(order),
            allergy_acknowledged=True, prn_reason="pain", pain_score=8,
        )
        before = _ledger_count(world)
        with pytest.raises(RuleViolation) as refused:
            world.recording.record_administration(cna, request)
        assert refused.value.code == "outside_scope"
        assert _ledger_count(world) == before
        refused_any = True
    assert refused_any, "the demo facility should give a CNA an insulin or opioid to refuse"


def test_a_cna_records_an_oral_dose_on_their_unit(world: World) -> None:
    cna = world.principal("cna")
    request, _ = given(world, "Atorvastatin")
    resident = next(r for r in world.seeded.demo.residents if r.resident_id == request.resident_id)
    assert not cna.user.unit_ids or resident.unit_id in cna.user.unit_ids
    entry = world.recording.record_administration(cna, request)
    assert entry.body["route"] == "oral"
