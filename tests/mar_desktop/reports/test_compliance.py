"""The scan compliance and overrides report on seeded doses: exact counts per unit and nurse,
the urgent dose on an unverified order, the printed PDF, the permission and the audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pdfplumber
import pytest

from mar_desktop.demo.history import scan_string
from mar_desktop.envelope import new_id
from mar_desktop.errors import PermissionDenied, ValidationError
from mar_desktop.kinds import WitnessAttestation
from mar_desktop.model import Outcome, Schedule
from mar_desktop.reports.compliance import ComplianceRow, compliance_rows
from mar_desktop.reports.compliance_pdf import render_compliance
from mar_desktop.reports.gather import ReportService
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.views import AdministrationRecord, OverrideView
from tests.facility import NOW
from tests.mar_desktop.reports.test_overrides_reports import late_bypassed_dose
from tests.mar_desktop.reports.world import ReportWorld, build_report_world, local


@pytest.fixture(scope="module")
def cw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportWorld]:
    """The report world (unit 1: Marisol Ortega gives 4 scanned doses and voids one, Keisha
    Lambert records a refusal; the morphine dose acknowledges a codeine allergy), plus a late
    dose with its medication checked by hand and an urgent dose on an unverified order."""
    rw = build_report_world(tmp_path_factory.mktemp("compliance"))
    late_bypassed_dose(rw)
    world = rw.world
    base = next(o for o in world.seeded.demo.orders
                if o.resident_id == rw.r0.resident_id and o.drug.startswith("Cholecalciferol"))
    world.clock.set(local(11))
    order = base.model_copy(update={
        "order_id": new_id(), "start": local(10),
        "schedule": Schedule(kind="fixed_times", times=("12:00",)),
    })
    world.reference.create_order(world.principal("admin"), order, allergy_acknowledged=True)
    world.clock.set(local(12, 3))
    second = world.principal("nurse2").user
    world.recording.record_administration(
        world.principal("nurse"),
        AdministrationRequest(
            resident_id=rw.r0.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
            scheduled_for=local(12), administered_at=local(12, 2),
            wristband_scan=rw.r0.wristband_id, medication_scan=scan_string(order),
            allergy_acknowledged=True, urgent_reason="resident in pain, pharmacy closed",
            urgent_second_person=WitnessAttestation(
                user_id=second.user_id, full_name=second.full_name, role=second.role.value,
                authenticated_at=world.clock.now(),
            ),
        ),
    )
    world.clock.set(NOW)
    yield rw
    world.store.close()


def _data(rw: ReportWorld, username: str = "admin", **kw: object) -> object:
    return ReportService(rw.world.ports).compliance(
        rw.world.principal(username), since=local(7), until=local(15), **kw  # type: ignore[arg-type]
    )


def test_counts_per_unit_and_nurse_are_exact(cw: ReportWorld) -> None:
    data = _data(cw, unit_id=cw.unit_id)
    unit = data.rows[0].unit_name  # type: ignore[attr-defined]
    assert [(r.name, r.recorded, r.given, r.wristband_scanned, r.medication_scanned,
             dict(r.overrides), r.urgent) for r in data.rows] == [  # type: ignore[attr-defined]
        ("Keisha Lambert", 1, 0, 0, 0, {}, 0),
        ("Marisol Ortega", 6, 6, 6, 5, {"allergy": 1, "medication_not_scanned": 1,
                                        "outside_window": 1}, 1),
        (f"All nurses on {unit}", 7, 6, 6, 5, {"allergy": 1, "medication_not_scanned": 1,
                                               "outside_window": 1}, 1),
    ]
    ortega = data.rows[1]  # type: ignore[attr-defined]
    assert (ortega.wristband_percent, ortega.medication_percent) == ("100.0 %", "83.3 %")
    assert data.rows[0].wristband_percent == "–"  # type: ignore[attr-defined]
    (urgent,) = data.urgent  # type: ignore[attr-defined]
    assert urgent.reason == "resident in pain, pharmacy closed"
    assert urgent.given_by == "Marisol Ortega" and urgent.medication.startswith("Cholecalciferol")


def test_the_pdf_prints_the_counts_and_the_urgent_dose_in_words(
    cw: ReportWorld, tmp_path: Path
) -> None:
    data = _data(cw)
    info = render_compliance(data, tmp_path / "compliance.pdf")  # type: ignore[arg-type]
    with pdfplumber.open(tmp_path / "compliance.pdf") as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert info.pages == 1
    assert "Scan compliance and overrides" in text and "All units you may see" in text
    assert "Marisol Ortega 6 6 100.0 % 83.3 % 1 0 1 1 0 1" in text
    assert "Keisha Lambert 1 0 – – 0 0 0 0 0 0" in text
    assert "resident in pain, pharmacy closed" in text
    assert "Medication by hand: Medication not scanned: checked by hand" in " ".join(text.split())
    for code in ("medication_not_scanned", "outside_window", "wristband_not_scanned"):
        assert code not in text


def test_only_a_review_role_may_run_it_and_each_run_is_audited(cw: ReportWorld) -> None:
    with pytest.raises(PermissionDenied):
        _data(cw, "nurse")
    _data(cw, "admin")
    conn = cw.world.store.connect_reader()
    try:
        kinds = [r[0] for r in conn.execute(
            "SELECT kind FROM audit ORDER BY rowid DESC LIMIT 2").fetchall()]
    finally:
        conn.close()
    assert kinds == ["audit.printed", "audit.permission_refused"]
    with pytest.raises(ValidationError):
        ReportService(cw.world.ports).compliance(
            cw.world.principal("admin"), since=local(15), until=local(7)
        )


def _record(entry_id: str, resident_id: str, outcome: Outcome = Outcome.GIVEN,
            **kw: object) -> AdministrationRecord:
    return AdministrationRecord(
        entry_id, resident_id, "o", None, NOW, NOW, outcome, "u1", "nurse", "d", **kw  # type: ignore[arg-type]
    )


def test_a_voided_record_and_other_units_are_not_counted() -> None:
    band = OverrideView("wristband_not_scanned", "Wristband missing", "u1", "N", "nurse")
    records = [
        _record("e1", "r1"),
        _record("e2", "r1"),
        _record("e3", "r1", voided=True),  # entered in error: not counted at all
        _record("e4", "r-other-unit"),  # a resident of a unit not in the report
        _record("e5", "r1", Outcome.HELD),
    ]
    rows = compliance_rows(
        records, {"e2": (band,), "e3": (band,)}, [],
        unit_of={"r1": "u-a"}, unit_names={"u-a": "A"}, names={"u1": "N. Urse"},
    )
    nurse, total = rows
    assert (nurse.name, nurse.recorded, nurse.given, nurse.wristband_scanned,
            nurse.medication_scanned, dict(nurse.overrides)) == (
        "N. Urse", 3, 2, 1, 2, {"wristband_not_scanned": 1}
    )
    assert (nurse.wristband_percent, nurse.medication_percent) == ("50.0 %", "100.0 %")
    assert total.user_id == "" and total.name == "All nurses on A" and total.recorded == 3
    assert compliance_rows([], {}, [], unit_of={}, unit_names={}, names={}) == ()
    assert ComplianceRow("u", "U", "x", "X", 2, 0).medication_percent == "–"
