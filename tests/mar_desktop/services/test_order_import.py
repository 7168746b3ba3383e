"""Importing a pharmacy bundle through the order import service on a real encrypted store: the
same bundle twice leaves the same active orders; a changed dose becomes an order change; an
order discontinued here is not restarted; a request without identifier or id is refused."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mar_desktop import kinds
from mar_desktop.clock import FakeClock
from mar_desktop.model import Allergy, Facility, Resident, Role, User
from mar_desktop.permissions import Principal
from mar_desktop.reports.fhir_import import import_medication_requests
from mar_desktop.services.base import Ports
from mar_desktop.services.order_import import ImportOutcome, OrderImportService
from mar_desktop.services.reference import ReferenceService
from mar_desktop.services.verification import VerificationService
from storage.local_store import LocalStore

SAMPLE = Path(__file__).parents[1] / "reports" / "data" / "pharmacy_bundle.json"
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
ADMIN = User(user_id="u-admin", username="admin", full_name="Dana Admin", initials="DA",
             credentials="RN", role=Role.FACILITY_ADMIN)
PHARMACIST = User(user_id="u-rph", username="rph", full_name="Ravi Pharm", initials="RP",
                  credentials="PharmD", role=Role.PHARMACIST)


class Pharmacy:
    """A store with the sample bundle's two residents, and the import path the CLI uses."""

    def __init__(self, store: LocalStore, clock: FakeClock) -> None:
        self.store, self.clock = store, clock
        self.ports = Ports(store.ledger, store.reader, clock)
        reference = ReferenceService(self.ports)
        reference.configure_facility(
            Facility(facility_id=store.facility_id, name="Maple", timezone="America/Chicago")
        )
        reference.bootstrap_admin(ADMIN)
        self.admin = Principal(user=ADMIN, device_id=store.device_id)
        reference.create_unit(self.admin, "East", "u1")
        for rid, band in (("res-1", "WB100001"), ("res-2", "WB100002")):
            reference.admit_resident(self.admin, Resident(
                resident_id=rid, unit_id="u1", given_name="Alpha", family_name="Test",
                date_of_birth=date(1938, 4, 2), room="101A", wristband_id=band,
            ))
        self.reference = reference

    def run(self, bundle: dict[str, Any]) -> ImportOutcome:
        residents = self.ports.reader().residents()
        result = import_medication_requests(
            json.dumps(bundle).encode(), residents, now=self.clock.now()
        )
        return OrderImportService(self.ports).record(self.admin, result)

    def verify_all(self) -> None:
        """A pharmacist verifies everything awaiting verification."""
        self.store.ledger.append([kinds.draft(
            kinds.USER_CREATED, self.admin.actor, kinds.UserCreated(user=PHARMACIST)
        )])
        queue = self.ports.reader().pending_verifications()
        VerificationService(self.ports).verify_many(
            Principal(user=PHARMACIST, device_id=self.store.device_id),
            [p.target_entry_id for p in queue],
        )

    def active(self) -> list[tuple[str, str, Decimal]]:
        states = self.ports.reader().orders(["res-1", "res-2"])
        return sorted((s.order.resident_id, s.order.drug, s.order.dose) for s in states)

    def ledger_count(self) -> int:
        conn = self.store.connect_reader()
        try:
            return int(conn.execute("SELECT count(*) FROM ledger").fetchone()[0])
        finally:
            conn.close()


@pytest.fixture
def pharmacy(tmp_path: Path, db_key: bytes) -> Iterator[Pharmacy]:
    clock = FakeClock(NOW)
    store = LocalStore.create(tmp_path / "data", db_key, "fac-1", clock)
    try:
        yield Pharmacy(store, clock)
    finally:
        store.close()


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text())
    return data


def request(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)


def test_the_same_bundle_twice_leaves_the_same_active_orders(pharmacy: Pharmacy) -> None:
    first = pharmacy.run(sample())
    assert len(first.created) == 4 and not first.changed
    orders, written = pharmacy.active(), pharmacy.ledger_count()
    pharmacy.clock.advance(timedelta(hours=2))
    again = pharmacy.run(sample())
    assert again.created == [] and again.changed == [] and len(again.unchanged) == 4
    assert pharmacy.active() == orders and len(orders) == 4
    assert pharmacy.ledger_count() == written  # nothing written the second time
    assert [i for i, _ in again.refused] == [i for i, _ in first.refused]


def test_a_changed_dose_replaces_the_order_with_an_order_change(pharmacy: Pharmacy) -> None:
    pharmacy.run(sample())
    changed = sample()
    dose = request(changed, "rx-1001")["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    dose["value"] = 50
    pharmacy.clock.advance(timedelta(hours=1))
    outcome = pharmacy.run(changed)
    assert len(outcome.changed) == 1 and len(outcome.unchanged) == 3
    # A higher dose waits for verification; the verified 25 mg stays in force meanwhile.
    metoprolol = [o for o in pharmacy.active() if o[1] == "Metoprolol tartrate"]
    assert metoprolol == [("res-1", "Metoprolol tartrate", Decimal(25)),
                          ("res-1", "Metoprolol tartrate", Decimal(50))]
    pharmacy.verify_all()
    metoprolol = [o for o in pharmacy.active() if o[1] == "Metoprolol tartrate"]
    assert metoprolol == [("res-1", "Metoprolol tartrate", Decimal(50))]
    states = pharmacy.ports.reader().orders(["res-1"], include_discontinued=True)
    replaced = [s for s in states if s.replaced_by is not None]
    assert len(replaced) == 1 and replaced[0].order.dose == 25
    again = pharmacy.run(changed)  # the changed version imported again: nothing new
    assert again.changed == [] and len(again.unchanged) == 4


def test_an_order_discontinued_here_is_not_restarted_by_an_import(pharmacy: Pharmacy) -> None:
    pharmacy.run(sample())
    state = next(
        s for s in pharmacy.ports.reader().orders(["res-1"]) if s.order.drug.startswith("Meto")
    )
    pharmacy.reference.discontinue_order(pharmacy.admin, state.order_id, "stopped by the MD")
    outcome = pharmacy.run(sample())
    refusals = dict(outcome.refused)
    assert any("discontinued here" in reason for reason in refusals.values())
    assert not any(o[1] == "Metoprolol tartrate" for o in pharmacy.active())


def test_a_request_with_neither_identifier_nor_id_is_refused(pharmacy: Pharmacy) -> None:
    bundle = sample()
    anonymous = copy.deepcopy(request(bundle, "rx-1001"))
    del anonymous["id"]
    bundle["entry"].append({"resource": anonymous})
    outcome = pharmacy.run(bundle)
    reasons = dict(outcome.refused)
    assert "neither an identifier nor an id" in reasons[len(bundle["entry"]) - 1]


def test_an_identifier_names_the_request_whatever_its_id(pharmacy: Pharmacy) -> None:
    bundle = sample()
    rx = request(bundle, "rx-1001")
    rx["identifier"] = [{"system": "urn:pharmacy:rx", "value": "555"}]
    first = pharmacy.run(bundle)
    rx["id"] = "a-new-id-for-the-same-prescription"
    again = pharmacy.run(bundle)
    assert len(first.created) == 4 and len(again.unchanged) == 4 and again.created == []


def test_an_order_matching_an_allergy_waits_for_its_acknowledgement(pharmacy: Pharmacy) -> None:
    resident = pharmacy.ports.reader().resident("res-1")
    assert resident is not None
    allergic = resident.model_copy(
        update={"allergies": (Allergy(substance="Lopressor"),)}  # brand name of metoprolol
    )
    pharmacy.reference.update_resident(pharmacy.admin, allergic)
    first = pharmacy.run(sample())
    index = next(i for i, reason in first.refused if "Allergy warning" in reason)
    assert not any(o[1] == "Metoprolol tartrate" for o in pharmacy.active())
    residents = pharmacy.ports.reader().residents()
    result = import_medication_requests(
        json.dumps(sample()).encode(), residents, now=pharmacy.clock.now()
    )
    again = OrderImportService(pharmacy.ports).record(
        pharmacy.admin, result, allergies_acknowledged={index}
    )
    assert index in again.created
    assert any(o[1] == "Metoprolol tartrate" for o in pharmacy.active())


def test_an_import_awaits_verification_with_the_pharmacy_values_beside_ours(
    pharmacy: Pharmacy,
) -> None:
    pharmacy.run(sample())
    pharmacy.store.ledger.append([kinds.draft(
        kinds.USER_CREATED, pharmacy.admin.actor, kinds.UserCreated(user=PHARMACIST)
    )])
    rph = Principal(user=PHARMACIST, device_id=pharmacy.store.device_id)
    queue = VerificationService(pharmacy.ports).pending(rph)
    assert len(queue) == 4 and all(i.pending.source == "import" for i in queue)
    assert all(i.may_verify and "pharmacy import" in i.what for i in queue)
    metoprolol = next(i for i in queue if i.pending.state.order.drug == "Metoprolol tartrate")
    rows = {r.field: r for r in metoprolol.rows}
    assert rows["drug"].source == "Metoprolol tartrate" == rows["drug"].transcribed
    assert rows["dose"].source == "25 mg" and rows["dose"].transcribed == "25 mg"
    assert not rows["dose"].differs
    # the pharmacy's own words are kept even where ours are mapped (route text, times)
    assert rows["route"].source and rows["frequency"].source.startswith("at ")
    VerificationService(pharmacy.ports).verify_many(rph, [i.target_entry_id for i in queue])
    assert VerificationService(pharmacy.ports).pending(rph) == []

    changed = sample()
    dose = request(changed, "rx-1001")["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    dose["value"] = 50
    pharmacy.clock.advance(timedelta(hours=1))
    assert len(pharmacy.run(changed).changed) == 1
    [again] = VerificationService(pharmacy.ports).pending(rph)  # back to awaiting
    assert again.pending.what == "change" and again.pending.previous is not None
    rows = {r.field: r for r in again.rows}
    assert rows["dose"].source == "50 mg" and rows["dose"].transcribed == "50 mg"
    assert {r.field: r.transcribed for r in again.previous}["dose"] == "25 mg"
    VerificationService(pharmacy.ports).return_order(
        rph, again.target_entry_id, "the prescriber did not change the dose"
    )
    # the verified 25 mg stays the one given; the returned 50 mg is never given
    states = pharmacy.ports.reader().orders(["res-1"])
    givable = [s.order.dose for s in states if s.order.drug == "Metoprolol tartrate" and s.givable]
    assert givable == [Decimal(25)]
    # importing the changed request again puts it before a verifier again
    outcome = pharmacy.run(changed)
    assert len(outcome.changed) == 1
    [third] = VerificationService(pharmacy.ports).pending(rph)
    assert third.target_entry_id != again.target_entry_id
