"""What the "Verify orders" tests find awaiting verification on the UI harness facility
(:mod:`tests.ui.harness`): a pharmacy's imported order for Agnes Holloway (the sample bundle's
metoprolol request, matched by her wristband), a hand-entered new order due now for Clarence
Mbeki (amlodipine at 08:00), and an order entered by Marisol Ortega while she held an admin
role (she now verifies as a nurse, so she is its author). Runs off the GUI thread."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from mar_desktop.demo.catalog import gtin_for_ndc
from mar_desktop.model import Order, Role, Schedule
from mar_desktop.permissions import Principal
from mar_desktop.reports.fhir_import import import_medication_requests
from mar_desktop.services.base import Ports
from mar_desktop.services.order_import import ImportOutcome, OrderImportService
from mar_desktop.services.reference import ReferenceService
from tests.ui.harness import Facility1

SAMPLE = Path(__file__).parents[1] / "mar_desktop" / "reports" / "data" / "pharmacy_bundle.json"
REQUEST = "rx-1001"  # metoprolol tartrate 25 mg at 08:00 and 20:00, for wristband WB100001


def pharmacy_bundle(dose: int = 25) -> dict[str, Any]:
    """The sample bundle's metoprolol request (with its patient and medication) at ``dose``
    mg; no validity period, so the order starts when imported."""
    data: dict[str, Any] = json.loads(SAMPLE.read_text())
    request = next(e for e in data["entry"] if e["resource"].get("id") == REQUEST)
    resource = copy.deepcopy(request["resource"])
    resource.pop("dispenseRequest", None)
    resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = dose
    refs = {resource["subject"]["reference"], resource["medicationReference"]["reference"]}
    kept = [e for e in data["entry"] if e.get("fullUrl") in refs]
    data["entry"] = [*kept, {**request, "resource": resource}]
    return data


def ports_of(facility: Facility1) -> Ports:
    return Ports(facility.store.ledger, facility.store.reader, facility.clock)


def admin_of(facility: Facility1) -> Principal:
    admin = facility.store.reader().user("u-admin")
    assert admin is not None
    return Principal(user=admin, device_id=facility.store.device_id)


def import_bundle(facility: Facility1, dose: int = 25) -> ImportOutcome:
    ports = ports_of(facility)
    result = import_medication_requests(
        json.dumps(pharmacy_bundle(dose)).encode(), ports.reader().residents(),
        now=facility.clock.now(),
    )
    return OrderImportService(ports).record(admin_of(facility), result)


def amlodipine() -> Order:
    return Order.model_validate({
        "order_id": "o-amlo", "resident_id": "r3", "drug": "Amlodipine",
        "gtins": (gtin_for_ndc("0069-1520-68"),), "strength": "5 mg", "form": "tablet",
        "dose": Decimal("5"), "dose_unit": "mg", "route": "PO",
        "schedule": Schedule(kind="fixed_times", times=("08:00",)),
        "start": datetime(2025, 12, 1, tzinfo=UTC),
    })


def seed_pending(facility: Facility1) -> None:
    """The three items awaiting verification (see the module docstring)."""
    import_bundle(facility)
    reference = ReferenceService(ports_of(facility))
    reference.create_order(admin_of(facility), amlodipine())
    nurse = facility.store.reader().user("u-nurse")
    assert nurse is not None
    as_admin = Principal(user=nurse.model_copy(update={"role": Role.FACILITY_ADMIN}),
                         device_id=facility.store.device_id)
    docusate = Order.model_validate({
        "order_id": "o-docu", "resident_id": "r2", "drug": "Docusate sodium",
        "gtins": (gtin_for_ndc("0536-3550-01"),), "dose": Decimal("100"), "dose_unit": "mg",
        "route": "PO", "schedule": Schedule(kind="fixed_times", times=("20:00",)),
        "start": datetime(2025, 12, 1, tzinfo=UTC),
    })
    reference.create_order(as_admin, docusate)


def pharmacy_change(facility: Facility1) -> None:
    """The import verified by Tobias Brandt, then the pharmacy doubles its dose an hour later:
    a changed import awaiting verification beside the version verified before."""
    from datetime import timedelta

    from mar_desktop.services.verification import VerificationService

    ports = ports_of(facility)
    verifier = ports.reader().user("u-nurse2")
    assert verifier is not None
    first = next(p for p in ports.reader().pending_verifications() if p.source == "import")
    VerificationService(ports).verify(
        Principal(user=verifier, device_id=facility.store.device_id), first.target_entry_id
    )
    facility.clock.advance(timedelta(hours=1))
    import_bundle(facility, dose=50)
