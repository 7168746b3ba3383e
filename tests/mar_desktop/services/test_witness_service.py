"""The proven witness through the path the screens use (the app's Backend on the real stack:
AccessService.witness_for_record, then RecordingService): the sign-in writes the witness's
signed entry, and the dose is refused when that entry is stale (15:00 fresh, 15:01 stale),
reused, forged with a key that is not the witness's, or for another dose; a wrong amount is
refused before any factor is checked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from mar_desktop import kinds
from mar_desktop.clinical.witness import WitnessRequest, sign_attestation
from mar_desktop.envelope import Actor, new_id
from mar_desktop.errors import AuthError, RuleViolation
from mar_desktop.model import Outcome
from mar_desktop.permissions import Principal
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.witnessed import WasteRequest
from mar_desktop.signing import DeviceSigner
from tests.ui.harness import (
    OXYCODONE_GTIN,
    PASSWORD,
    START,
    Facility1,
    build_facility,
    med_scan,
)

SLOT = START  # 08:00 in New York: the oxycodone's dose


@pytest.fixture
def site(tmp_path: Path, memory_keyring: object) -> Iterator[Facility1]:
    built = build_facility(tmp_path)
    try:
        yield built
    finally:
        built.backend.close()


def nurse_signed_in(site: Facility1) -> Principal:
    site.backend.auth.sign_in("nurse", PASSWORD, site.code("nurse"))
    return site.backend.sessions.principal()


def dose_request(site: Facility1, **changes: object) -> AdministrationRequest:
    request = AdministrationRequest(
        resident_id="r2", order_id="o-oxy", outcome=Outcome.GIVEN, scheduled_for=SLOT,
        wristband_scan="WB100002", medication_scan=med_scan(OXYCODONE_GTIN),
        allergy_acknowledged=True,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def witness_for(site: Facility1, principal: Principal, username: str = "nurse2",
                **changes: object) -> str:
    request = WitnessRequest(purpose="administration", resident_id="r2", order_id="o-oxy",
                             scheduled_for=SLOT)
    signed = site.backend.auth.witness_for_record(
        principal, username, PASSWORD, site.code(username), replace(request, **changes),
    )
    return signed.entry_id


def refused(site: Facility1, principal: Principal, request: AdministrationRequest) -> str:
    with pytest.raises(RuleViolation) as caught:
        site.backend.recording.record_administration(principal, request)
    return caught.value.code


def pass_time(site: Facility1, span: timedelta) -> None:
    """``span`` goes by with the nurse working (no inactivity lock)."""
    while span > timedelta(0):
        step = min(span, timedelta(minutes=3))
        site.clock.advance(step)
        site.backend.sessions.touch()
        span -= step


def test_fifteen_minutes_after_the_sign_in_is_fresh_a_second_more_is_stale(
    site: Facility1,
) -> None:
    nurse = nurse_signed_in(site)
    stale = witness_for(site, nurse)
    pass_time(site, timedelta(minutes=15, seconds=1))
    assert refused(site, nurse, dose_request(site, witness_entry_id=stale)) == "witness_stale"
    fresh = witness_for(site, nurse)  # a new sign-in (a new authenticator step, too)
    pass_time(site, timedelta(minutes=15))
    entry = site.backend.recording.record_administration(
        nurse, dose_request(site, witness_entry_id=fresh))
    assert entry.body["witness"]["user_id"] == "u-nurse2"
    stored = site.store.ledger.entry(fresh)
    assert stored is not None and stored.body["record_entry_id"] == entry.id
    assert entry.id == stored.body["record_entry_id"]
    assert stored.body["user_sig"] is not None  # the witness's own key signed it


def test_a_sign_in_witnesses_one_record_only(site: Facility1) -> None:
    nurse = nurse_signed_in(site)
    proof = witness_for(site, nurse)
    site.backend.recording.record_administration(nurse, dose_request(site,
                                                                     witness_entry_id=proof))
    record = next(r for r in site.store.reader().administrations(
        since=site.clock.now() - timedelta(hours=1), until=site.clock.now() + timedelta(hours=1))
        if r.order_id == "o-oxy")
    assert record.witnessed_by == "Tobias Brandt LPN"
    assert refused(site, nurse, dose_request(site, witness_entry_id=proof)) == "witness_used"
    # the same sign-in for its waste: a waste needs its own sign-in
    with pytest.raises(RuleViolation) as caught:
        site.backend.recording.record_waste(nurse, WasteRequest(
            administration_entry_id=record.entry_id, amount="2", reason="spilled",
            witness_entry_id=proof))
    assert caught.value.code == "witness_other_dose"
    assert record.wastes == ()


def test_an_entry_signed_with_a_key_that_is_not_the_witnesss_is_refused(
    site: Facility1,
) -> None:
    nurse = nurse_signed_in(site)
    body = kinds.WitnessAttested(
        purpose="administration", record_entry_id=new_id(), device_id=site.store.device_id,
        giver_user_id="u-nurse",
        dose=kinds.WitnessedDose(resident_id="r2", order_id="o-oxy",
                                 scheduled_for=SLOT, amount=5, unit="mg"),
        witness=kinds.WitnessAttestation(user_id="u-nurse2", full_name="Tobias Brandt",
                                         role="nurse", authenticated_at=site.clock.now()),
    )
    forged = sign_attestation(body, DeviceSigner.generate())  # not the account's key
    draft = kinds.draft(kinds.WITNESS_ATTESTED, Actor(user_id="u-nurse2", role="nurse"), forged)
    entry_id = site.store.ledger.append([draft])[0].id
    assert refused(site, nurse, dose_request(site, witness_entry_id=entry_id)) == (
        "witness_signature")
    unsigned = kinds.draft(kinds.WITNESS_ATTESTED, Actor(user_id="u-nurse2", role="nurse"),
                           body.model_copy(update={"record_entry_id": new_id()}))
    unsigned_id = site.store.ledger.append([unsigned])[0].id
    assert refused(site, nurse, dose_request(site, witness_entry_id=unsigned_id)) == (
        "witness_signature")


def test_the_witness_must_sign_for_this_dose_by_this_giver(site: Facility1) -> None:
    nurse = nurse_signed_in(site)
    assert refused(site, nurse, dose_request(site)) == "witness_missing"
    legacy = kinds.WitnessAttestation(user_id="u-nurse2", full_name="Tobias Brandt",
                                      role="nurse", authenticated_at=site.clock.now())
    assert refused(site, nurse, dose_request(site, witness=legacy)) == "witness_missing"
    other_slot = witness_for(site, nurse, scheduled_for=SLOT - timedelta(days=1))
    assert refused(site, nurse, dose_request(site, witness_entry_id=other_slot)) == (
        "witness_other_dose")
    site.clock.advance(timedelta(seconds=31))
    # the admin's account records RN: licensed to witness
    admin_proof = witness_for(site, nurse, username="admin")
    site.backend.recording.record_administration(nurse, dose_request(
        site, witness_entry_id=admin_proof))


def test_a_wrong_amount_or_an_unlicensed_witness_is_refused_at_the_sign_in(
    site: Facility1,
) -> None:
    nurse = nurse_signed_in(site)
    with pytest.raises(RuleViolation) as caught:
        witness_for(site, nurse, amount="50")
    assert caught.value.code == "dose_mismatch" and caught.value.field == "dose"
    with pytest.raises(AuthError, match="licensed"):
        witness_for(site, nurse, username="cna")
    with pytest.raises(AuthError, match="different person"):
        witness_for(site, nurse, username="nurse")
