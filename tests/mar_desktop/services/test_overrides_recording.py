"""Overrides through the recording service on a real encrypted store: each accepted warning is
an ``administration.overrides`` entry signed just before its dose, read back in words."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from mar_desktop import kinds
from mar_desktop.clinical.allergies import allergy_matches
from mar_desktop.clinical.overrides import LEGACY_REASON
from mar_desktop.demo.history import scan_string
from mar_desktop.envelope import new_id, parse_raw
from mar_desktop.errors import RuleViolation
from mar_desktop.model import (
    Allergy,
    FacilitySettings,
    Order,
    Outcome,
    PrnIndication,
    Resident,
    ScanBypassReason,
)
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.verification import VerificationService
from tests.facility import World
from tests.mar_desktop.services.test_recording_service import given


def ledger(world: World) -> list[tuple[str, int, str, dict[str, Any]]]:
    """(kind, seq, id, body) of every ledger entry of this device, in chain order."""
    conn = world.store.connect_reader()
    try:
        rows = conn.execute(
            "SELECT raw FROM ledger WHERE device_id = ? ORDER BY seq", (world.store.device_id,)
        ).fetchall()
    finally:
        conn.close()
    entries = [parse_raw(bytes(r[0])) for r in rows]
    return [(e.kind, e.seq, e.id, e.body) for e in entries]


def overrides_entries(world: World) -> list[dict[str, Any]]:
    return [b for k, _, _, b in ledger(world) if k == kinds.ADMINISTRATION_OVERRIDES]


def test_a_scanned_on_time_dose_records_no_override(world: World) -> None:
    request, _ = given(world, "Atorvastatin")
    entry = world.recording.record_administration(world.principal("nurse"), request)
    assert overrides_entries(world) == []
    assert world.ports.reader().dose_overrides([entry.id]) == {}


def test_a_bypass_without_a_reason_is_refused_and_nothing_written(world: World) -> None:
    request, _ = given(world, "Atorvastatin", wristband_scan=None, identity_confirmed=True)
    before = ledger(world)
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert (refused.value.code, refused.value.field) == (
        "bypass_reason_required", "bypass_wristband"
    )
    unknown = AdministrationRequest(**{**request.__dict__,
                                       "wristband_bypass_reason": "barcode_damaged"})
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), unknown)
    assert refused.value.code == "bypass_reason_unknown"
    med = given(world, "Atorvastatin", medication_scan=None, medication_confirmed=True)[0]
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), med)
    assert refused.value.field == "bypass_medication"
    assert ledger(world) == before


def test_both_bypasses_are_signed_just_before_the_dose_and_read_in_words(world: World) -> None:
    request, _ = given(
        world, "Atorvastatin", wristband_scan=None, identity_confirmed=True,
        wristband_bypass_reason="band_unreadable", medication_scan=None,
        medication_confirmed=True, medication_bypass_reason="no_barcode",
    )
    nurse = world.principal("nurse")
    dose = world.recording.record_administration(nurse, request)
    chain = ledger(world)
    at = next(i for i, (_, _, entry_id, _) in enumerate(chain) if entry_id == dose.id)
    kind, seq, _, body = chain[at - 1]
    assert kind == kinds.ADMINISTRATION_OVERRIDES and seq == dose.seq - 1
    assert body["administration_entry_id"] == dose.id
    assert [(o["code"], o["reason"], o["user_id"], o["role"]) for o in body["overrides"]] == [
        ("wristband_not_scanned", "Wristband damaged or unreadable", nurse.user.user_id, "nurse"),
        ("medication_not_scanned", "Product has no barcode (e.g. bulk or compounded)",
         nurse.user.user_id, "nurse"),
    ]
    # the dose entry itself keeps the fields older tablets read
    assert set(dose.body) == set(kinds.AdministrationRecorded.model_fields)
    (views,) = world.ports.reader().dose_overrides([dose.id]).values()
    assert [v.text for v in views] == [
        f"Wristband not scanned: identity confirmed by hand: Wristband damaged or unreadable "
        f"({nurse.user.full_name})",
        f"Medication not scanned: checked by hand: Product has no barcode (e.g. bulk or "
        f"compounded) ({nurse.user.full_name})",
    ]


def test_an_acknowledged_allergy_is_stored_with_its_warning(world: World) -> None:
    resident, order = world.resident_with("Atorvastatin")
    allergic = resident.model_copy(
        update={"allergies": (Allergy(substance="Atorvastatin", reaction="Myalgia"),)}
    )
    world.reference.update_resident(world.principal("admin"), allergic)
    warnings = [m.message for m in allergy_matches(allergic, order)]
    assert warnings
    request, _ = given(world, "Atorvastatin", allergy_acknowledged=False)
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert refused.value.code == "allergy_unacknowledged"
    assert overrides_entries(world) == []
    acknowledged = AdministrationRequest(**{**request.__dict__, "allergy_acknowledged": True})
    dose = world.recording.record_administration(world.principal("nurse"), acknowledged)
    (body,) = overrides_entries(world)
    assert [(o["code"], o["reason"]) for o in body["overrides"]] == [
        ("allergy", "; ".join(warnings))
    ]
    (views,) = world.ports.reader().dose_overrides([dose.id]).values()
    assert views[0].label == "Allergy warning acknowledged"


def test_a_dose_outside_its_window_stores_the_reason_as_an_override(world: World) -> None:
    request, slot = given(world, "Atorvastatin")
    world.clock.set(slot + timedelta(hours=5))  # type: ignore[operator]
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert refused.value.code == "outside_window"
    late = AdministrationRequest(**{**request.__dict__,
                                    "outside_window_reason": "back late from dialysis"})
    dose = world.recording.record_administration(world.principal("nurse"), late)
    (body,) = overrides_entries(world)
    assert [(o["code"], o["reason"]) for o in body["overrides"]] == [
        ("outside_window", "back late from dialysis")
    ]
    assert dose.body["outside_window_reason"] == "back late from dialysis"


def test_a_refusal_late_in_the_day_accepts_no_warning(world: World) -> None:
    """Not giving a dose overrides nothing: no overrides entry, whatever the time."""
    request, slot = given(world, "Atorvastatin", outcome=Outcome.REFUSED, reason_code="R",
                          outside_window_reason="asleep at the usual time")
    world.clock.set(slot + timedelta(hours=5))  # type: ignore[operator]
    dose = world.recording.record_administration(world.principal("nurse"), request)
    assert world.ports.reader().dose_overrides([dose.id]) == {}
    assert overrides_entries(world) == []


def test_a_dose_recorded_before_overrides_derives_them_from_its_fields(world: World) -> None:
    """A by-hand dose written the old way (no overrides entry) still shows its bypasses."""
    resident, order = world.resident_with("Atorvastatin")
    slot = given(world, "Atorvastatin")[1]
    old = kinds.AdministrationRecorded(
        resident_id=resident.resident_id, order_id=order.order_id, scheduled_for=slot,
        administered_at=world.clock.now(), outcome=Outcome.GIVEN, dose_given=order.dose,
        dose_unit=order.dose_unit, route=order.route,
        scan=kinds.ScanRecord(identity_confirmed=True),
    )
    nurse = world.principal("nurse")
    [entry] = world.ports.ledger.append(
        [kinds.draft(kinds.ADMINISTRATION_RECORDED, nurse.actor, old)]
    )
    (views,) = world.ports.reader().dose_overrides([entry.id]).values()
    assert [(v.code, v.reason, v.legacy) for v in views] == [
        ("wristband_not_scanned", LEGACY_REASON, True),
        ("medication_not_scanned", LEGACY_REASON, True),
    ]
    assert json.dumps(entry.body).count("overrides") == 0


def test_the_facility_list_of_bypass_reasons_is_the_one_enforced(world: World) -> None:
    read = world.ports.reader()
    facility = read.facility()
    assert facility is not None
    own = (
        ScanBypassReason(code="band_laundry", label="Band off for bathing",
                         applies_to=("wristband",)),
        ScanBypassReason(code="label_torn", label="Pharmacy label torn",
                         applies_to=("medication",)),
    )
    changed = world.reference.change_settings(
        world.principal("admin"),
        facility.settings.model_copy(update={"scan_bypass_reasons": own}),
    )
    assert changed.body["v"] == 4  # older tablets keep it unapplied (recorded by a newer version)
    request, _ = given(world, "Atorvastatin", wristband_scan=None, identity_confirmed=True,
                       wristband_bypass_reason="band_missing")  # a default, not on this list
    with pytest.raises(RuleViolation) as refused:
        world.recording.record_administration(world.principal("nurse"), request)
    assert refused.value.code == "bypass_reason_unknown"
    ours = AdministrationRequest(**{**request.__dict__, "wristband_bypass_reason": "band_laundry"})
    dose = world.recording.record_administration(world.principal("nurse"), ours)
    (views,) = world.ports.reader().dose_overrides([dose.id]).values()
    assert [(v.code, v.reason) for v in views] == [
        ("wristband_not_scanned", "Band off for bathing")
    ]


def test_a_bypass_list_must_keep_a_reason_for_each_scan_and_unique_codes() -> None:
    band = ScanBypassReason(code="a", label="A", applies_to=("wristband",))
    with pytest.raises(ValueError, match="medication scan"):
        FacilitySettings(scan_bypass_reasons=(band,))
    both = ScanBypassReason(code="a", label="B", applies_to=("wristband", "medication"))
    with pytest.raises(ValueError, match="only once"):
        FacilitySettings(scan_bypass_reasons=(band, both))
    assert FacilitySettings(scan_bypass_reasons=(both,)).scan_bypass_reasons == (both,)


def _prn_for_severe_pain(world: World) -> tuple[Resident, Order]:
    """A verified PRN order "for severe pain (7–10)" of a demo resident."""
    resident, base = world.resident_with("Acetaminophen")
    assert base.is_prn
    order = base.model_copy(update={
        "order_id": new_id(), "start": world.clock.now() - timedelta(hours=1),
        "prn_indication": PrnIndication(minimum=7, maximum=10),
    })
    world.reference.create_order(world.principal("admin"), order, allergy_acknowledged=True)
    verifier = VerificationService(world.ports)
    item = next(p for p in verifier.pending(world.principal("nurse"))
                if p.pending.state.order_id == order.order_id)
    verifier.verify(world.principal("nurse"), item.pending.target_entry_id)
    return resident, order


def _prn_request(resident: Resident, order: Order, **changes: object) -> AdministrationRequest:
    fields: dict[str, object] = dict(
        resident_id=resident.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
        wristband_scan=resident.wristband_id, medication_scan=scan_string(order),
        allergy_acknowledged=True, prn_reason="Pain",
    )
    fields.update(changes)
    return AdministrationRequest(**fields)  # type: ignore[arg-type]


def test_a_prn_score_inside_the_indication_records_no_override(world: World) -> None:
    resident, order = _prn_for_severe_pain(world)
    dose = world.recording.record_administration(
        world.principal("nurse"), _prn_request(resident, order, pain_score=7)
    )
    assert world.ports.reader().dose_overrides([dose.id]) == {}


def test_a_prn_score_outside_the_indication_needs_a_reason_stored_as_override(
    world: World,
) -> None:
    resident, order = _prn_for_severe_pain(world)
    before = ledger(world)
    for score in (3, None):
        with pytest.raises(RuleViolation) as refused:
            world.recording.record_administration(
                world.principal("nurse"), _prn_request(resident, order, pain_score=score)
            )
        assert (refused.value.code, refused.value.field) == ("prn_indication", "prn_indication")
    assert ledger(world) == before
    dose = world.recording.record_administration(
        world.principal("nurse"),
        _prn_request(resident, order, pain_score=3,
                     prn_indication_reason="guarding the hip, says it is worse moving"),
    )
    (body,) = overrides_entries(world)
    assert body["administration_entry_id"] == dose.id
    assert [(o["code"], o["reason"]) for o in body["overrides"]] == [(
        "prn_indication",
        "pain 3, ordered for pain 7–10: guarding the hip, says it is worse moving",
    )]
    (views,) = world.ports.reader().dose_overrides([dose.id]).values()
    assert views[0].label == "Given outside the order's PRN indication"
