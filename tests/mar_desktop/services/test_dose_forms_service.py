"""Ranges, sliding scales, partial doses and the 24 h amount maximum through the recording
service the screens use, on a real encrypted store."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from mar_desktop import kinds
from mar_desktop.demo.history import scan_string
from mar_desktop.envelope import new_id
from mar_desktop.errors import RuleViolation
from mar_desktop.kinds import Vitals
from mar_desktop.model import Order, Outcome, Schedule, SlidingScaleRow
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.verification import VerificationService
from tests.facility import World
from tests.mar_desktop.services.test_recording_service import next_slot

PRN_ANY_TIME = Schedule(kind="prn")
ROWS = (
    SlidingScaleRow(glucose_min=D(80), glucose_max=D(150), dose=D(0)),
    SlidingScaleRow(glucose_min=D(151), glucose_max=D(200), dose=D(2)),
    SlidingScaleRow(glucose_min=D(201), glucose_max=D(300), dose=D(4)),
)


def entered(world: World, drug: str, **fields: Any) -> Order:
    """A copy of the demo's ``drug`` order with ``fields``, entered and verified now."""
    _, base = world.resident_with(drug)
    order = Order.model_validate({
        **base.model_dump(), "order_id": new_id(),
        "start": world.clock.now() - timedelta(hours=1), **fields,
    })
    world.reference.create_order(world.principal("admin"), order, allergy_acknowledged=True)
    verifier = VerificationService(world.ports)
    for item in verifier.pending(world.principal("nurse")):
        if item.pending.state.order_id == order.order_id:
            verifier.verify(world.principal("nurse"), item.pending.target_entry_id)
    return order


def request(world: World, order: Order, **fields: Any) -> AdministrationRequest:
    resident = world.ports.reader().resident(order.resident_id)
    assert resident is not None
    base: dict[str, Any] = dict(
        resident_id=order.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
        wristband_scan=resident.wristband_id, medication_scan=scan_string(order),
        allergy_acknowledged=True,
    )
    if order.is_prn:
        base.update(prn_reason="Knee pain", pain_score=5)
    else:
        slot = next_slot(world, order)
        world.clock.set(slot + timedelta(minutes=2))  # type: ignore[operator]
        base["scheduled_for"] = slot
    base.update(fields)
    return AdministrationRequest(**base)


def record(world: World, order: Order, **fields: Any) -> dict[str, Any]:
    entry = world.recording.record_administration(
        world.principal("nurse"), request(world, order, **fields)
    )
    return entry.body


def refused(world: World, order: Order, code: str, **fields: Any) -> RuleViolation:
    before = _ledger_kinds(world)
    with pytest.raises(RuleViolation) as caught:
        record(world, order, **fields)
    assert caught.value.code == code
    assert _ledger_kinds(world) == before  # nothing written
    return caught.value


def _ledger_kinds(world: World) -> list[str]:
    conn = world.store.connect_reader()
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM ledger ORDER BY rowid")]
    finally:
        conn.close()


def _bodies(world: World, kind: str) -> list[dict[str, Any]]:
    conn = world.store.connect_reader()
    try:
        rows = conn.execute("SELECT raw FROM ledger WHERE kind = ? ORDER BY rowid", (kind,))
        return [json.loads(r[0])["body"] for r in rows]
    finally:
        conn.close()


def test_a_range_order_stores_the_amount_chosen_and_refuses_outside_it(world: World) -> None:
    order = entered(world, "Acetaminophen", dose=D(325), dose_max=D(650), schedule=PRN_ANY_TIME)
    assert _bodies(world, kinds.ORDER_CREATED)[-1]["v"] == 3
    assert record(world, order, dose_given="2", dose_unit="tablets")["dose_given"] == "650"
    assert record(world, order, dose_given="325")["dose_given"] == "325"
    for typed in ("6500", "651", "324"):
        refused(world, order, "dose_mismatch", dose_given=typed)
    refused(world, order, "dose_invalid")  # a range needs the amount chosen


def test_a_plain_order_stays_a_v2_body(world: World) -> None:
    entered(world, "Acetaminophen")
    assert _bodies(world, kinds.ORDER_CREATED)[-1]["v"] == 2
    assert "dose_max" not in _bodies(world, kinds.ORDER_CREATED)[-1]["order"]


def test_a_sliding_scale_dose_is_the_row_for_the_glucose(world: World) -> None:
    order = entered(world, "Insulin lispro", sliding_scale=ROWS, hold_parameters=())
    refused(world, order, "glucose_required", dose_given="4", site="Abdomen")
    refused(world, order, "dose_mismatch", dose_given="2", vitals=Vitals(glucose=D(201)),
            site="Abdomen")
    err = refused(world, order, "scale_no_row", dose_given="4", vitals=Vitals(glucose=D(301)),
                  site="Abdomen")
    assert "call the prescriber" in str(err)
    body = record(world, order, dose_given="4", vitals=Vitals(glucose=D(201)), site="Abdomen")
    assert (body["dose_given"], body["dose_unit"]) == ("4", "units")


def test_a_partial_dose_is_given_with_the_amount_taken_and_its_own_entry(world: World) -> None:
    order = entered(world, "Acetaminophen", dose=D(325), dose_max=D(650), schedule=PRN_ANY_TIME)
    body = record(world, order, dose_given="650", partial_taken="325", partial_reason="spat out")
    assert body["outcome"] == "given" and body["dose_given"] == "325"
    assert body["reason_text"] == "partial dose: 325 of 650 mg — spat out"
    [partial] = _bodies(world, kinds.PARTIAL_DOSE_RECORDED)
    dose_id = _ids_of(world, kinds.ADMINISTRATION_RECORDED)[-1]
    assert partial["administration_entry_id"] == dose_id
    assert (partial["intended"], partial["taken"], partial["reason"]) == ("650", "325", "spat out")
    refused(world, order, "partial_invalid", dose_given="650", partial_taken="650",
            partial_reason="spat out")
    refused(world, order, "partial_invalid", dose_given="650", partial_taken="300")


def _ids_of(world: World, kind: str) -> list[str]:
    conn = world.store.connect_reader()
    try:
        return [r[0] for r in conn.execute("SELECT id FROM ledger WHERE kind = ? ORDER BY rowid",
                                           (kind,))]
    finally:
        conn.close()


def test_the_daily_amount_maximum_counts_every_order_of_the_ingredient(world: World) -> None:
    prn = entered(world, "Acetaminophen", schedule=PRN_ANY_TIME, max_amount_24h=D("1.3"),
                  max_amount_unit="g")
    other = entered(world, "Acetaminophen", schedule=PRN_ANY_TIME)  # no maximum of its own
    nurse = world.principal("nurse")
    first = world.recording.record_administration(nurse, request(world, prn))
    world.clock.advance(timedelta(hours=1))
    record(world, other)  # 1.3 g: exactly the maximum
    world.clock.advance(timedelta(hours=1))
    err = refused(world, prn, "prn_amount_max")
    assert "1.95 g of acetaminophen" in str(err) and "maximum is 1.3 g" in str(err)
    refused(world, other, "prn_amount_max")  # the other order's dose counts against it too
    world.recording.void_entry(nurse, first.id, "Charted on the wrong resident")
    record(world, prn)  # a voided dose does not count
