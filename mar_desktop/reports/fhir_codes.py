"""Code systems and mappings for the FHIR export and import (FHIR R4 via fhir.resources R4B).

Version decision: fhir.resources 8 defaults to R5; we use its ``R4B`` subpackage (FHIR 4.3).
For Patient, MedicationRequest and MedicationAdministration the R4B JSON we write and read uses
no element that differs from R4 (4.0.1), so bundles are R4-compatible both ways.
"""

from __future__ import annotations

from typing import Any

from mar_desktop.model import Outcome

SNOMED = "http://snomed.info/sct"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
UCUM = "http://unitsofmeasure.org"
NDC = "http://hl7.org/fhir/sid/ndc"
WRISTBAND_SYSTEM = "urn:mar-desktop:wristband"
REASON_SYSTEM_PREFIX = "urn:mar-desktop:reason-code:"  # + facility id: the facility's code list
OUTCOME_SYSTEM = "urn:mar-desktop:outcome"
CONTROLLED_SCHEDULE_EXT = "urn:mar-desktop:fhir:controlled-schedule"  # valueCode II..V

# SNOMED CT codes below are from FHIR R4's MedicationAdministration.statusReason value set
# (http://hl7.org/fhir/ValueSet/reason-medication-not-given-codes: is-a 242990004 "Drug not
# available for administration" or is-a 182895007 "Drug declined by patient").
# Standard codes where one fits the outcome (the facility's own code is always added too).
STANDARD_NOT_GIVEN: dict[Outcome, list[dict[str, str]]] = {
    Outcome.REFUSED: [
        {"system": SNOMED, "code": "182895007", "display": "Drug declined by patient"},
        {"system": ACT_REASON, "code": "PATOBJ", "display": "patient objection"},
    ],
    Outcome.NOT_AVAILABLE: [
        {"system": SNOMED, "code": "242990004", "display": "Drug not available for administration"},
        {"system": ACT_REASON, "code": "OSTOCK", "display": "product out of stock"},
    ],
    Outcome.HELD: [
        {"system": ACT_REASON, "code": "MEDPREC", "display": "medical precaution"},
    ],
    Outcome.AWAY: [],
    Outcome.OTHER: [],
}

# Dose units → UCUM (code, unit as printed). Countable forms use UCUM annotations.
UCUM_UNITS: dict[str, str] = {
    "mg": "mg",
    "mcg": "ug",
    "ug": "ug",
    "µg": "ug",
    "g": "g",
    "ml": "mL",
    "l": "L",
    "unit": "[IU]",
    "units": "[IU]",
    "iu": "[IU]",
    "meq": "meq",
    "tablet": "{tablet}",
    "tablets": "{tablet}",
    "capsule": "{capsule}",
    "capsules": "{capsule}",
    "puff": "{puff}",
    "puffs": "{puff}",
    "drop": "[drp]",
    "drops": "[drp]",
    "patch": "{patch}",
    "spray": "{spray}",
    "sprays": "{spray}",
}
FROM_UCUM: dict[str, str] = {
    "mg": "mg",
    "ug": "mcg",
    "g": "g",
    "mL": "mL",
    "L": "L",
    "[IU]": "units",
    "meq": "mEq",
    "{tablet}": "tablet",
    "{capsule}": "capsule",
    "{puff}": "puff",
    "[drp]": "drop",
    "{patch}": "patch",
    "{spray}": "spray",
}


def quantity(value: Any, unit: str) -> dict[str, Any]:
    """A FHIR Quantity with the UCUM code when the unit is known, else the unit text only."""
    out: dict[str, Any] = {"value": value, "unit": unit}
    code = UCUM_UNITS.get(unit.strip().lower())
    if code is not None:
        out.update(system=UCUM, code=code)
    return out


def unit_from_quantity(qty: dict[str, Any]) -> str:
    """Our dose unit from a FHIR Quantity: the UCUM code mapped back, else the unit text."""
    code = qty.get("code")
    if qty.get("system") == UCUM and isinstance(code, str) and code in FROM_UCUM:
        return FROM_UCUM[code]
    return str(qty.get("unit") or code or "").strip()
