"""FHIR: the export bundle validates with fhir.resources (R4B) and maps statuses; the sample
pharmacy bundle imports to the expected orders and bad entries are refused one by one."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from mar_desktop.errors import ValidationError
from mar_desktop.model import Resident
from mar_desktop.reports.fhir_export import fhir_bundle, fhir_bundle_json
from mar_desktop.reports.fhir_import import import_medication_requests
from mar_desktop.reports.gather import ReportService
from storage.report_queries import ReportQueries
from tests.mar_desktop.reports.world import ReportWorld, local

SAMPLE = Path(__file__).parent / "data" / "pharmacy_bundle.json"
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def test_export_bundle_validates_and_maps_statuses(rw: ReportWorld) -> None:
    queries = ReportQueries(rw.world.store.connect_reader())
    try:
        data = ReportService(rw.world.ports).export_data(
            rw.world.principal("surveyor"),
            since=local(7),
            until=local(12),
            entries=queries,
            report="fhir_export",
        )
    finally:
        queries.close()
    bundle = Bundle.model_validate(fhir_bundle(data))  # validates every resource
    assert bundle.type == "collection"
    parsed = Bundle.model_validate_json(fhir_bundle_json(data))
    by_id = {e.resource.id: e.resource for e in parsed.entry}
    assert {e.resource.__resource_type__ for e in parsed.entry} == {
        "Patient",
        "MedicationRequest",
        "MedicationAdministration",
    }
    assert by_id[rw.voided_entry].status == "entered-in-error"
    assert by_id[rw.recharted_entry].status == "completed"
    refused = by_id[rw.refused_entry]
    assert refused.status == "not-done"
    codes = {(c.system, c.code) for c in refused.statusReason[0].coding}
    assert ("http://snomed.info/sct", "182895007") in codes
    assert ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "PATOBJ") in codes
    assert any(
        system.startswith("urn:mar-desktop:reason-code:") and code == "R" for system, code in codes
    )
    dose = by_id[rw.recharted_entry].dosage.dose
    assert (dose.system, dose.code, dose.value) == ("http://unitsofmeasure.org", "mg", Decimal(20))
    witnessed = by_id[rw.witnessed_entry]
    assert [p.function.text for p in witnessed.performer] == ["performer", "witness"]
    assert by_id[rw.prn_entry].reasonCode[0].text == "Pain in left knee"
    patient = by_id[rw.r0.resident_id]
    assert patient.identifier[0].value == rw.r0.wristband_id
    assert any(
        r.__resource_type__ == "MedicationRequest" and r.status == "active" for r in by_id.values()
    )


def _residents() -> list[Resident]:
    def one(rid: str, band: str) -> Resident:
        return Resident(
            resident_id=rid,
            unit_id="u1",
            given_name="Alpha",
            family_name="Test",
            date_of_birth=date(1938, 4, 2),
            room="101A",
            wristband_id=band,
        )

    return [one("res-1", "WB100001"), one("res-2", "WB100002")]


def test_sample_pharmacy_bundle_imports_expected_orders() -> None:
    result = import_medication_requests(SAMPLE.read_bytes(), _residents(), now=NOW)
    got = {a.resource_id: a.order for a in result.accepted}
    assert set(got) == {"rx-1001", "rx-1002", "rx-1003", "rx-1004"}
    metoprolol = got["rx-1001"]
    assert (metoprolol.resident_id, metoprolol.drug, metoprolol.strength, metoprolol.form) == (
        "res-1",
        "Metoprolol tartrate",
        "25 mg",
        "tablet",
    )
    assert metoprolol.ndcs == ("99101-251-01",)
    assert (metoprolol.dose, metoprolol.dose_unit, metoprolol.route) == (Decimal(25), "mg", "oral")
    assert metoprolol.schedule.kind == "fixed_times"
    assert metoprolol.schedule.times == ("08:00", "20:00")
    assert metoprolol.start == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert metoprolol.end == datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
    assert metoprolol.prescriber == "Dr. R. Okonkwo"
    assert metoprolol.instructions == "Check apical pulse and BP first."
    acetaminophen = got["rx-1002"]
    assert acetaminophen.is_prn and acetaminophen.schedule.prn_min_interval_minutes == 240
    assert acetaminophen.schedule.prn_max_doses_24h == 4 and acetaminophen.dose == 650
    insulin = got["rx-1003"]
    assert (insulin.resident_id, insulin.dose, insulin.dose_unit) == ("res-2", 20, "units")
    assert insulin.route == "subcutaneous" and insulin.schedule.times == ("21:00",)
    oxycodone = got["rx-1004"]
    assert oxycodone.controlled_schedule == "II" and oxycodone.needs_witness
    assert oxycodone.schedule.prn_min_interval_minutes == 360


def test_bad_entries_are_refused_one_by_one_with_reasons() -> None:
    result = import_medication_requests(SAMPLE.read_text(), _residents(), now=NOW)
    reasons = {r.resource_id: r.reason for r in result.rejected}
    assert set(reasons) == {
        "rx-bad-stopped",
        "rx-bad-patient",
        "rx-bad-nodose",
        "rx-bad-fhir",
        "rx-bad-zero",
        "rx-bad-timing",
        "obs-1",
    }
    assert "only active requests" in reasons["rx-bad-stopped"]
    assert "does not match any resident" in reasons["rx-bad-patient"]
    assert "dose quantity is missing" in reasons["rx-bad-nodose"]
    assert reasons["rx-bad-fhir"].startswith("not valid FHIR: authoredOn")
    assert reasons["rx-bad-zero"].startswith("dose:")
    assert "timeOfDay" in reasons["rx-bad-timing"]
    assert "not a MedicationRequest" in reasons["obs-1"]
    indexes = [r.index for r in result.rejected]
    assert indexes == sorted(indexes)


def test_not_a_bundle_is_refused_as_a_whole() -> None:
    with pytest.raises(ValidationError):
        import_medication_requests(b"{not json", _residents(), now=NOW)
    with pytest.raises(ValidationError):
        import_medication_requests(json.dumps({"resourceType": "Patient"}), _residents(), now=NOW)


def test_every_snomed_not_given_code_is_in_the_fhir_value_set() -> None:
    """statusReason's SNOMED CT codes come from FHIR R4's reason-medication-not-given-codes
    value set (is-a 242990004 or is-a 182895007), and "not available" carries its SNOMED code
    as "refused" does."""
    from mar_desktop.model import Outcome
    from mar_desktop.reports import fhir_codes as fc

    snomed = {
        outcome: [c["code"] for c in codings if c["system"] == fc.SNOMED]
        for outcome, codings in fc.STANDARD_NOT_GIVEN.items()
    }
    value_set_roots = {"242990004", "182895007"}  # the value set's two is-a rules (FHIR R4)
    assert {code for codes in snomed.values() for code in codes} <= value_set_roots
    assert snomed[Outcome.REFUSED] == ["182895007"]
    assert snomed[Outcome.NOT_AVAILABLE] == ["242990004"]
