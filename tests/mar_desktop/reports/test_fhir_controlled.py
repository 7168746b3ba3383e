"""An imported order is controlled by the medication's standard schedule even without our own
extension; the extension and the standard schedule must agree, or the entry is refused with
both named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mar_desktop.clinical.controlled import RXNORM
from mar_desktop.reports import fhir_codes as fc
from mar_desktop.reports.fhir_import import import_medication_requests
from tests.mar_desktop.reports.test_fhir import SAMPLE, _residents

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _oxycodone_only(extension: str | None, coding: list[dict[str, str]]) -> dict[str, Any]:
    bundle = json.loads(SAMPLE.read_text())
    entries = [e for e in bundle["entry"]
               if e["resource"].get("id") == "rx-1004"
               or e["resource"].get("resourceType") in ("Patient", "Medication")]
    request = next(e["resource"] for e in entries if e["resource"].get("id") == "rx-1004")
    request["extension"] = ([] if extension is None else
                            [{"url": fc.CONTROLLED_SCHEDULE_EXT, "valueCode": extension}])
    request["medicationCodeableConcept"] = {"coding": coding, "text": "Oxycodone HCl"}
    request.pop("medicationReference", None)
    bundle["entry"] = entries
    return bundle


RXNORM_OXYCODONE = {"system": RXNORM, "code": "1049621",
                    "display": "oxycodone hydrochloride 5 MG Oral Tablet"}


def test_oxycodone_with_a_standard_code_and_no_extension_imports_as_schedule_ii() -> None:
    result = import_medication_requests(_oxycodone_only(None, [RXNORM_OXYCODONE]), _residents(),
                                        now=NOW)
    [accepted] = result.accepted
    assert accepted.order.controlled_schedule == "II" and accepted.order.needs_witness


def test_an_extension_that_agrees_is_kept() -> None:
    result = import_medication_requests(_oxycodone_only("II", [RXNORM_OXYCODONE]), _residents(),
                                        now=NOW)
    assert [a.order.controlled_schedule for a in result.accepted] == ["II"]


def test_an_extension_that_disagrees_is_refused_naming_both_schedules() -> None:
    result = import_medication_requests(_oxycodone_only("IV", [RXNORM_OXYCODONE]), _residents(),
                                        now=NOW)
    assert not result.accepted
    [refused] = result.rejected
    assert refused.resource_id == "rx-1004"
    assert "Schedule IV" in refused.reason and "Schedule II " in refused.reason
    assert "pharmacy" in refused.reason
