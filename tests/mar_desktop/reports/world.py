"""A small facility on a real encrypted store with a hand-made day shift of 2026-03-02
(America/Chicago): a given dose later voided and re-charted, a refusal, vitals with an amended
note, a PRN with reason, pain and follow-up, a Schedule II dose with a witness, and doses left
undocumented (missed). Everything goes through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from mar_desktop.demo.history import demo_witness_entry, scan_string
from mar_desktop.kinds import Vitals, WitnessAttestation
from mar_desktop.model import Order, Outcome, Resident
from mar_desktop.services.recording import AdministrationRequest
from tests.facility import NOW, World, make_world

ZONE_OFFSET = timedelta(hours=-6)  # America/Chicago in early March (standard time)
SHIFT_DAY = NOW.date()  # 2026-03-02; NOW is 14:00 local, inside the day shift


def local(hour: int, minute: int = 0) -> datetime:
    """2026-03-02 HH:MM America/Chicago, as aware UTC."""
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC) - ZONE_OFFSET


@dataclass
class ReportWorld:
    world: World
    r0: Resident
    r4: Resident
    voided_entry: str
    recharted_entry: str
    refused_entry: str
    amended_entry: str
    prn_entry: str
    witnessed_entry: str

    @property
    def unit_id(self) -> str:
        return self.r0.unit_id


def _order(world: World, resident: Resident, drug_prefix: str) -> Order:
    return next(
        o
        for o in world.seeded.demo.orders
        if o.resident_id == resident.resident_id and o.drug.startswith(drug_prefix)
    )


def build_report_world(tmp_path: Path) -> ReportWorld:
    world = make_world(tmp_path, days=0, residents_per_unit=5)
    rec = world.recording
    nurse, cna, admin = world.principal("nurse"), world.principal("cna"), world.principal("admin")
    residents = [
        r for r in world.seeded.demo.residents if r.unit_id == world.seeded.demo.units[0].unit_id
    ]
    r0, r4 = residents[0], residents[4]

    def give(principal, resident, order, at, scheduled, **kw):  # type: ignore[no-untyped-def]
        world.clock.set(at + timedelta(minutes=1))
        outcome = kw.pop("outcome", Outcome.GIVEN)
        return rec.record_administration(
            principal,
            AdministrationRequest(
                resident_id=resident.resident_id,
                order_id=order.order_id,
                outcome=outcome,
                scheduled_for=scheduled,
                administered_at=at,
                wristband_scan=resident.wristband_id,
                medication_scan=scan_string(order) if outcome == Outcome.GIVEN else None,
                allergy_acknowledged=True,
                **kw,
            ),
        ).id

    omeprazole = _order(world, r0, "Omeprazole")
    voided = give(nurse, r0, omeprazole, local(7, 5), local(7), note="Given with water")
    world.clock.set(local(7, 20))
    rec.void_entry(nurse, voided, "Charted on the wrong dose time")
    recharted = give(nurse, r0, omeprazole, local(7, 25), local(7))
    refused = give(
        cna,
        r0,
        _order(world, r0, "Cholecalciferol"),
        local(9, 2),
        local(9),
        outcome=Outcome.REFUSED,
        reason_code="R",
        reason_text="Says it upsets stomach",
    )
    metoprolol = _order(world, r0, "Metoprolol")
    amended = give(
        nurse,
        r0,
        metoprolol,
        local(8, 4),
        local(8),
        vitals=Vitals(pulse=Decimal(72), systolic_bp=Decimal(130)),
        note="BP taken sitting",
    )
    world.clock.set(local(8, 40))
    rec.amend_note(nurse, amended, "BP taken sitting; resident tolerated well")
    acetaminophen = _order(world, r0, "Acetaminophen")
    prn = give(
        nurse, r0, acetaminophen, local(10, 0), None, prn_reason="Pain in left knee", pain_score=6
    )
    world.clock.set(local(11, 5))
    rec.record_prn_followup(nurse, prn, "effective", pain_score=2)
    morphine = _order(world, r4, "Morphine")
    witness = WitnessAttestation(
        user_id=admin.user.user_id,
        full_name=admin.user.full_name,
        role=admin.user.role.value,
        credentials=admin.user.credentials,
        authenticated_at=local(8, 1),
    )
    world.clock.set(local(8, 1))
    witness_entry = demo_witness_entry(world.store.ledger, nurse, witness, r4.resident_id,
                                       morphine, local(8))
    witnessed = give(nurse, r4, morphine, local(8, 2), local(8), witness=witness,
                     witness_entry_id=witness_entry)
    world.clock.set(NOW)
    return ReportWorld(world, r0, r4, voided, recharted, refused, amended, prn, witnessed)
