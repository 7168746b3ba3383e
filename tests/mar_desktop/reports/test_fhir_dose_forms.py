"""FHIR import of dose forms: doseRange → a dose range, maxDosePerPeriod as an amount → the
24 h amount maximum (as a count it stays the count maximum), a sliding scale refused."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from mar_desktop.reports.fhir_import import import_medication_requests
from tests.mar_desktop.reports.test_fhir import NOW, SAMPLE, _residents

UCUM = "http://unitsofmeasure.org"


def _bundle_with(change: Any) -> dict[str, Any]:
    """The sample bundle holding only rx-1002 (acetaminophen PRN) and its patient, changed."""
    data = json.loads(SAMPLE.read_text())
    kept = []
    for entry in data["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            kept.append(entry)
        elif resource.get("id") == "rx-1002":
            changed = copy.deepcopy(entry)
            change(changed["resource"]["dosageInstruction"][0])
            kept.append(changed)
    return {**data, "entry": kept}


def _import(change: Any) -> Any:
    return import_medication_requests(json.dumps(_bundle_with(change)), _residents(), now=NOW)


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def test_a_dose_range_imports_as_a_range() -> None:
    def ranged(dosage: dict[str, Any]) -> None:
        dosage["doseAndRate"] = [
            {"doseRange": {"low": _quantity(325, "mg"), "high": _quantity(650, "mg")}}
        ]

    [accepted] = _import(ranged).accepted
    order = accepted.order
    assert (order.dose, order.dose_max, order.dose_unit) == (Decimal(325), Decimal(650), "mg")


def test_a_range_in_two_units_or_without_an_end_is_refused() -> None:
    def mixed(dosage: dict[str, Any]) -> None:
        dosage["doseAndRate"] = [
            {"doseRange": {"low": _quantity(325, "mg"), "high": _quantity(0.65, "g")}}
        ]

    def open_ended(dosage: dict[str, Any]) -> None:
        dosage["doseAndRate"] = [{"doseRange": {"low": _quantity(325, "mg")}}]

    assert "different units" in _import(mixed).rejected[0].reason
    assert "low and a high" in _import(open_ended).rejected[0].reason


def test_an_amount_per_day_is_the_amount_maximum_a_count_stays_a_count() -> None:
    def amount(dosage: dict[str, Any]) -> None:
        dosage["maxDosePerPeriod"]["numerator"] = _quantity(3, "g")

    [accepted] = _import(amount).accepted
    order = accepted.order
    assert (order.max_amount_24h, order.max_amount_unit) == (Decimal(3), "g")
    assert order.schedule.prn_max_doses_24h is None
    [plain] = _import(lambda dosage: None).accepted
    assert plain.order.schedule.prn_max_doses_24h == 4 and plain.order.max_amount_24h is None


def test_an_amount_per_another_period_is_refused() -> None:
    def per_hour(dosage: dict[str, Any]) -> None:
        dosage["maxDosePerPeriod"] = {
            "numerator": _quantity(1, "g"), "denominator": {"value": 4, "code": "h"}
        }

    assert "per 24 hours" in _import(per_hour).rejected[0].reason


def test_a_sliding_scale_is_refused_clearly() -> None:
    def scale(dosage: dict[str, Any]) -> None:
        dosage["text"] = "Per sliding scale before meals"

    [rejected] = _import(scale).rejected
    assert "sliding scale cannot be imported" in rejected.reason


def test_a_range_and_an_amount_maximum_round_trip_through_the_export() -> None:
    from fhir.resources.R4B.medicationrequest import MedicationRequest

    from mar_desktop.model import Order, Schedule
    from mar_desktop.reports.fhir_export import medication_request
    from tests.mar_desktop.clinical import factories as f

    order = Order.model_validate({
        **f.order(resident_id="res-1").model_dump(), "drug": "Acetaminophen",
        "dose": Decimal(325), "dose_max": Decimal(650), "dose_unit": "mg",
        "schedule": Schedule(kind="prn"), "max_amount_24h": Decimal(3), "max_amount_unit": "g",
    })
    resource = medication_request(f.state(order), NOW)
    MedicationRequest.model_validate(resource)  # valid FHIR
    resource = {**resource, "subject": {"reference": "Patient/res-1"}}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": "urn:uuid:00000000-0000-4000-8000-0000000000aa",
                         "resource": resource}]}
    raw = json.dumps(bundle, default=float)  # as the export writes numbers
    [accepted] = import_medication_requests(raw, _residents(), now=NOW).accepted
    back = accepted.order
    assert (back.dose, back.dose_max, back.dose_unit) == (Decimal(325), Decimal(650), "mg")
    assert (back.max_amount_24h, back.max_amount_unit) == (Decimal(3), "g")
