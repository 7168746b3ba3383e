"""What the demo facility leaves awaiting verification, so the "Verify orders" screen is not
empty in ``make demo``: a new order imported from a pharmacy's FHIR bundle (omeprazole for the
first resident not taking it) and a hand-entered change (a doubled dose of the second
resident's first scheduled order, entered by the admin; it waits while the verified version
stays givable).

Demo only. Writes through the services as the given admin (import, change; both audited);
worker thread. Raises what the services raise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mar_desktop.demo.catalog import BY_KEY, Medication
from mar_desktop.envelope import new_id
from mar_desktop.model import Resident
from mar_desktop.permissions import Principal
from mar_desktop.reports.fhir_import import import_medication_requests
from mar_desktop.services.base import Ports
from mar_desktop.services.order_import import OrderImportService
from mar_desktop.services.reference import ReferenceService

IMPORTED = "omeprazole"
PRESCRIBER = "Dr. L. Moreau"
CHANGE_REASON = "Dose increased by Dr. L. Moreau (telephone order, read back)"


def pharmacy_bundle(resident: Resident, med: Medication, start: datetime) -> dict[str, Any]:
    """A FHIR R4 Bundle as a pharmacy sends it: the patient (by wristband), the medication (by
    NDC) and one MedicationRequest for ``med`` from ``start``."""
    patient, medication = f"urn:uuid:{new_id()}", f"urn:uuid:{new_id()}"
    value = int(med.dose) if med.dose == med.dose.to_integral_value() else float(med.dose)
    amount = {"value": value, "unit": med.dose_unit,
              "system": "http://unitsofmeasure.org", "code": med.dose_unit}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "meta": {"source": "urn:demo:riverbend-pharmacy"},
        "entry": [
            {"fullUrl": patient, "resource": {
                "resourceType": "Patient", "id": "demo-patient",
                "identifier": [{"system": "urn:mar-desktop:wristband",
                                "value": resident.wristband_id}],
                "name": [{"family": resident.family_name, "given": [resident.given_name]}],
                "birthDate": resident.date_of_birth.isoformat(),
            }},
            {"fullUrl": medication, "resource": {
                "resourceType": "Medication", "id": f"demo-{med.key}",
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": med.ndc,
                                     "display": f"{med.drug} {med.strength} {med.form}"}],
                         "text": med.drug},
                "form": {"text": med.form},
            }},
            {"fullUrl": f"urn:uuid:{new_id()}", "resource": {
                "resourceType": "MedicationRequest", "id": f"demo-rx-{med.key}",
                "identifier": [{"system": "urn:demo:riverbend-pharmacy:rx",
                                "value": f"RX-{resident.wristband_id}-{med.key}"}],
                "status": "active", "intent": "order",
                "medicationReference": {"reference": medication},
                "subject": {"reference": patient},
                "authoredOn": start.isoformat(),
                "requester": {"display": PRESCRIBER},
                "dosageInstruction": [{
                    "text": "Before breakfast.",
                    "timing": {"repeat": {"timeOfDay": [f"{t}:00" for t in med.schedule.times]}},
                    "route": {"coding": [{"system": "http://snomed.info/sct",
                                          "code": "26643006", "display": "oral"}]},
                    "doseAndRate": [{"doseQuantity": amount}],
                }],
                "dispenseRequest": {"validityPeriod": {"start": start.isoformat()}},
            }},
        ],
    }


def seed_awaiting_verification(
    ports: Ports, admin: Principal, residents: Sequence[Resident], now: datetime
) -> None:
    """The imported order and the hand-entered change (see the module docstring)."""
    read = ports.reader()
    med = BY_KEY[IMPORTED]
    taking = {s.order.resident_id for s in read.orders([r.resident_id for r in residents])
              if s.order.drug == med.drug}
    target = next(r for r in residents if r.resident_id not in taking)
    result = import_medication_requests(
        json.dumps(pharmacy_bundle(target, med, now)).encode(), read.residents(), now=now
    )
    OrderImportService(ports).record(admin, result)
    second = residents[1]
    old = next(
        s.order for s in read.orders([second.resident_id])
        if s.order.schedule.kind == "fixed_times" and s.order.controlled_schedule is None
        and s.givable
    )
    higher = old.model_copy(update={"order_id": new_id(), "dose": old.dose * 2, "start": now})
    ReferenceService(ports).change_order(
        admin, old.order_id, higher, CHANGE_REASON, now, allergy_acknowledged=True
    )
