"""The proven witness across tablets, through a real server over TLS 1.3: the other tablet pairs
the dose (and its waste) with the witness's own signed entry and shows "Witnessed by"; an older
tablet keeps the new kinds unapplied, as recorded by a newer version, while still counting the
dose and showing its embedded witness."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.clinical.witness import WitnessProof, link_holds, sign_attestation
from mar_desktop.demo.history import scan_string
from mar_desktop.demo.seed import SeedResult
from mar_desktop.envelope import Actor, new_id
from mar_desktop.model import ALL_UNITS, Order, Outcome, Resident, Role, User
from mar_desktop.people import issue
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.auth import AuthService
from mar_desktop.people.passwords import Argon2Parameters, PasswordHashing
from mar_desktop.people.sessions import SessionManager
from mar_desktop.people.statements import AccountRecord
from mar_desktop.people.totp import code_at
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.witnessed import WasteRequest
from mar_desktop.signing import DeviceSigner
from storage.credentials import SqlCredentialStore
from tests.sync.conftest import Site, start_site, stop_site
from tests.sync.world import Cart, cart, next_slot, seed, signed_in_admin

WITNESS_KEY = DeviceSigner.generate()
FAST = PasswordHashing(Argon2Parameters(time_cost=1, memory_kib=64, parallelism=1))
TEMP = "temporary-harbour-lantern-42"
PASSWORD = "violet heron above the salt marsh"
WITNESS = User(user_id="u-witness", username="jpark", full_name="Jordan Park", initials="JP",
               credentials="RN", role=Role.NURSE, unit_ids=(ALL_UNITS,))


def schedule_ii(seeded: SeedResult) -> tuple[Resident, Order]:
    order = next(o for o in seeded.demo.orders if o.needs_witness and not o.is_prn)
    resident = next(r for r in seeded.demo.residents if r.resident_id == order.resident_id)
    return resident, order


def witness_entry(c: Cart, seeded: SeedResult, dose: kinds.WitnessedDose,
                  purpose: kinds.WitnessPurpose = "administration",
                  of_entry_id: str | None = None, witness: User | None = None,
                  key: DeviceSigner = WITNESS_KEY) -> str:
    """What the witness's sign-in on ``c`` writes (signed with the witness's own ``key``)."""
    witness = witness or c.principal(seeded, "nurse2").user
    body = kinds.WitnessAttested(
        purpose=purpose, record_entry_id=new_id(), of_entry_id=of_entry_id,
        device_id=c.tab.store.device_id,
        giver_user_id=c.principal(seeded, "nurse").user.user_id, dose=dose,
        witness=kinds.WitnessAttestation(
            user_id=witness.user_id, full_name=witness.full_name, role=witness.role.value,
            credentials=witness.credentials, authenticated_at=c.clock.now(),
        ),
    )
    actor = Actor(user_id=witness.user_id, role=witness.role.value)
    draft = kinds.draft(kinds.WITNESS_ATTESTED, actor, sign_attestation(body, key))
    return c.tab.store.ledger.append([draft])[0].id


def give_witnessed(c: Cart, seeded: SeedResult, witness: User | None = None,
                   key: DeviceSigner = WITNESS_KEY) -> tuple[str, str]:
    """A Schedule II dose and its waste on ``c``, witnessed by ``witness`` (default: the demo's
    second nurse) signing with ``key``: (dose id, waste id)."""
    resident, order = schedule_ii(seeded)
    slot = next_slot(c, order)
    c.clock.set(slot + timedelta(minutes=2))  # type: ignore[operator]
    dose = kinds.WitnessedDose(resident_id=resident.resident_id, order_id=order.order_id,
                               scheduled_for=slot, amount=order.dose,  # type: ignore[arg-type]
                               unit=order.dose_unit)
    nurse = c.principal(seeded, "nurse")
    entry = c.recording.record_administration(nurse, AdministrationRequest(
        resident_id=resident.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
        scheduled_for=slot,  # type: ignore[arg-type]
        wristband_scan=resident.wristband_id, medication_scan=scan_string(order),
        allergy_acknowledged=True,
        witness_entry_id=witness_entry(c, seeded, dose, witness=witness, key=key),
    ))
    half = order.dose / 2
    waste_witness = witness_entry(c, seeded, dose.model_copy(update={"amount": half}), "waste",
                                  entry.id, witness=witness, key=key)
    waste = c.recording.record_waste(nurse, WasteRequest(
        administration_entry_id=entry.id, amount=str(half), reason="half the vial discarded",
        witness_entry_id=waste_witness,
    ))
    return entry.id, waste.id


def enrolled_witness(site: Site, c: Cart) -> tuple[User, DeviceSigner]:
    """A nurse account made by the facility's admin on ``c`` and signed in there once (its
    own key bound, authenticator enrolled): the witness and the key their sign-in unwraps."""
    creds = SqlCredentialStore(c.tab.store.connect_reader, c.clock)
    facility = c.tab.store.reader().facility()
    assert facility is not None
    sessions = SessionManager(c.clock, c.tab.store.device_id, facility.settings)
    auth = AuthService(c.ports, creds, sessions, hashing=FAST)
    try:
        admin = signed_in_admin(site, c, auth)
        AccountService(c.ports, creds, FAST, user_key=auth.sessions.user_key).create_user(
            admin, WITNESS, TEMP
        )
        auth.logout()
        challenge = auth.set_new_password(auth.begin_login(WITNESS.username, TEMP), PASSWORD)
        secret = auth.begin_enrolment(challenge).secret
        auth.confirm_enrolment(challenge, code_at(secret, c.clock.now()))
        auth.logout()
        record = creds.latest(WITNESS.user_id)
        assert isinstance(record, AccountRecord)
        key = issue.open_key(record, PASSWORD)
        assert key is not None
        return WITNESS, key
    finally:
        creds.close()


def test_the_other_tablet_pairs_the_dose_with_its_signed_witness_entry(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        a = cart(site, "cart-a")
        seeded = seed(a, residents_per_unit=5)
        witness, key = enrolled_witness(site, a)
        a.tab.engine.sync_once()
        b = cart(site, "cart-b")
        b.tab.engine.sync_once()
        dose_id, waste_id = give_witnessed(a, seeded, witness, key)
        assert a.tab.engine.sync_once().quarantined == 0
        report = b.tab.engine.sync_once()
        assert report.quarantined == 0 and report.newer == 0
        record = b.tab.store.reader().administration(dose_id)
        assert record is not None and record.counts_as_given
        assert record.witnessed_by == f"{witness.full_name} {witness.credentials}".strip()
        assert record.device_id == a.tab.store.device_id
        (waste,) = record.wastes
        assert waste.entry_id == waste_id and waste.witness_proven
        assert waste.amount == Decimal(str(record.dose_given)) / 2
        # The link itself, as B holds it: the witness entry names the dose, from A.
        assert record.witness_entry_id is not None
        stored = b.tab.store.ledger.entry(record.witness_entry_id)
        assert stored is not None and stored.device_id == a.tab.store.device_id
        body = kinds.parse_body(stored.kind, dict(stored.body))
        assert isinstance(body, kinds.WitnessAttested)
        assert link_holds(WitnessProof(stored.id, stored.device_id, body), dose_id,
                          record.device_id)
        # A key the witness's account never held is shown as an attestation, not as proven.
        forged_dose, _ = give_witnessed(a, seeded, witness, DeviceSigner.generate())
        a.tab.engine.sync_once()
        b.tab.engine.sync_once()
        forged = b.tab.store.reader().administration(forged_dose)
        assert forged is not None and forged.witnessed_by == ""
        assert forged.witness_name == witness.full_name and not forged.wastes[0].witness_proven
    finally:
        stop_site(site)


def _as_previous_release(patch: pytest.MonkeyPatch) -> None:
    """The model of the release before the witness entry: it knows neither new kind."""
    for kind in (kinds.WITNESS_ATTESTED, kinds.DOSE_WASTED):
        patch.delitem(kinds.BODY_TYPES, kind)


def test_an_older_tablet_keeps_the_witness_kinds_unapplied_and_still_counts_the_dose(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        newer = cart(site, "newer")
        seeded = seed(newer, residents_per_unit=5)
        newer.tab.engine.sync_once()
        older = cart(site, "older")
        with monkeypatch.context() as old:  # the previous release's model
            _as_previous_release(old)
            older.tab.engine.sync_once()
        dose_id, _ = give_witnessed(newer, seeded)
        newer.tab.engine.sync_once()
        with monkeypatch.context() as old:
            _as_previous_release(old)
            report = older.tab.engine.sync_once()
            assert report.quarantined == 0 and report.newer >= 3  # kept, chain-verified
            record = older.tab.store.reader().administration(dose_id)
        assert record is not None and record.counts_as_given  # the dose still counts
        witness = newer.principal(seeded, "nurse2").user
        assert record.witness_user_id == witness.user_id  # the embedded attestation shows
        assert record.witnessed_by == "" and record.wastes == ()  # not applied there
    finally:
        stop_site(site)
