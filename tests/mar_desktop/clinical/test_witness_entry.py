"""The witness is proven: each refusal of the reference a Schedule II dose or waste makes to its
witness's sign-in entry, and its boundaries (pure rule, no store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from mar_desktop.clinical.witness import (
    MESSAGES,
    WitnessProof,
    WitnessRequest,
    check_witness_entry,
    link_holds,
    may_witness,
    sign_attestation,
    signed_content,
    user_signature_ok,
    witnessed_dose,
)
from mar_desktop.errors import RuleViolation
from mar_desktop.kinds import WitnessAttestation, WitnessAttested, WitnessedDose
from mar_desktop.model import Role, User
from mar_desktop.signing import DeviceSigner
from tests import factories as f

DEVICE = "dev-cart-1"
GIVER = User(user_id="u-giver", username="giver", full_name="Gina Giver", initials="GG",
             credentials="RN", role=Role.NURSE)
WITNESS = User(user_id="u-wit", username="wit", full_name="Walt Witness", initials="WW",
               credentials="LPN", role=Role.NURSE)
KEY = DeviceSigner.generate()
AT = f.T0
DOSE = WitnessedDose(resident_id="r-1", order_id="o-1", scheduled_for=AT, amount=Decimal("5"),
                     unit="mg")


def attested(witness: User = WITNESS, **changes: Any) -> WitnessAttested:
    body = WitnessAttested(
        purpose="administration",
        record_entry_id="rec-1",
        device_id=DEVICE,
        giver_user_id=GIVER.user_id,
        dose=DOSE,
        witness=WitnessAttestation(user_id=witness.user_id, full_name=witness.full_name,
                                   role=witness.role.value, credentials=witness.credentials,
                                   authenticated_at=AT),
    )
    return sign_attestation(body.model_copy(update=changes), KEY)


def check(proof: WitnessProof | None, **over: Any) -> None:
    args: dict[str, Any] = dict(
        purpose="administration", dose=DOSE, of_entry_id=None, device_id=DEVICE,
        giver_user_id=GIVER.user_id, witness=WITNESS, account_public=KEY.public_hex,
        now=AT + timedelta(minutes=2),
    )
    args.update(over)
    check_witness_entry(proof, **args)


def proof(body: WitnessAttested | None = None, device_id: str = DEVICE) -> WitnessProof:
    return WitnessProof(entry_id="w-1", device_id=device_id, body=body or attested())


def refused(code: str, *args: Any, **kw: Any) -> None:
    with pytest.raises(RuleViolation) as caught:
        check(*args, **kw)
    assert caught.value.code == code
    assert caught.value.field == "witness"
    assert str(caught.value) == MESSAGES[code]
    assert "_" not in str(caught.value)  # words for a nurse, never the raw code


def test_a_fresh_signed_entry_for_this_dose_passes() -> None:
    check(proof())


def test_missing_reference_is_refused() -> None:
    refused("witness_missing", None)


def test_fifteen_minutes_is_fresh_and_fifteen_and_a_second_is_stale() -> None:
    check(proof(), now=AT + timedelta(minutes=15))
    refused("witness_stale", proof(), now=AT + timedelta(minutes=15, seconds=1))
    refused("witness_stale", proof(), now=AT + timedelta(minutes=16))
    check(proof(), now=AT - timedelta(minutes=1))  # within a minute of clock slack
    refused("witness_stale", proof(), now=AT - timedelta(minutes=2))  # stamped in the future


def test_another_device_is_refused_by_envelope_or_body() -> None:
    refused("witness_other_device", proof(device_id="dev-other"))
    refused("witness_other_device", proof(attested(device_id="dev-other")))


@pytest.mark.parametrize(
    "dose",
    [
        DOSE.model_copy(update={"resident_id": "r-2"}),
        DOSE.model_copy(update={"order_id": "o-2"}),
        DOSE.model_copy(update={"scheduled_for": AT + timedelta(hours=4)}),
        DOSE.model_copy(update={"scheduled_for": None}),
        DOSE.model_copy(update={"amount": Decimal("10")}),
        DOSE.model_copy(update={"unit": "mL"}),
    ],
    ids=["resident", "order", "slot", "prn", "amount", "unit"],
)
def test_a_different_dose_is_refused(dose: WitnessedDose) -> None:
    refused("witness_other_dose", proof(), dose=dose)


def test_a_waste_sign_in_does_not_witness_a_dose_nor_the_reverse() -> None:
    refused("witness_other_dose", proof(), purpose="waste", of_entry_id="rec-0")
    waste = proof(attested(purpose="waste", of_entry_id="rec-0"))
    refused("witness_other_dose", waste)
    check(waste, purpose="waste", of_entry_id="rec-0")


def test_another_givers_witness_is_refused() -> None:
    refused("witness_other_giver", proof(), giver_user_id="u-someone-else")


def test_the_giver_cannot_witness_their_own_dose() -> None:
    body = attested(witness=GIVER, giver_user_id=GIVER.user_id)
    refused("witness_same_person", proof(body), witness=GIVER)


def test_unlicensed_or_inactive_witness_is_refused() -> None:
    cna = WITNESS.model_copy(update={"role": Role.CNA, "credentials": "CNA"})
    refused("witness_unlicensed", proof(attested(witness=cna)), witness=cna)
    gone = WITNESS.model_copy(update={"active": False})
    refused("witness_inactive", proof(), witness=gone)
    refused("witness_unlicensed", proof(), witness=None)


@pytest.mark.parametrize(
    ("role", "credentials", "licensed"),
    [
        (Role.NURSE, "RN", True),
        (Role.DIRECTOR_OF_NURSING, "RN", True),
        (Role.PHARMACIST, "PharmD", True),
        (Role.FACILITY_ADMIN, "RN", True),
        (Role.FACILITY_ADMIN, "LPN, MBA", True),
        (Role.FACILITY_ADMIN, "", False),
        (Role.FACILITY_ADMIN, "MBA", False),
        (Role.CNA, "CNA", False),
        (Role.READ_ONLY, "RN", False),
    ],
)
def test_who_may_witness(role: Role, credentials: str, licensed: bool) -> None:
    user = WITNESS.model_copy(update={"role": role, "credentials": credentials})
    assert may_witness(user) is licensed
    body = attested(witness=user)
    if licensed:
        check(proof(body), witness=user)
    else:
        refused("witness_unlicensed", proof(body), witness=user)


def test_the_witnesss_own_signature_is_required_and_checked() -> None:
    body = attested()
    assert user_signature_ok(body, KEY.public_hex)
    other = DeviceSigner.generate()
    refused("witness_signature", proof(), account_public=other.public_hex)  # not their key
    forged = body.model_copy(update={"dose": DOSE.model_copy(update={"amount": Decimal("50")})})
    refused("witness_signature", proof(forged), dose=forged.dose)  # altered after signing
    unsigned = body.model_copy(update={"user_sig": None, "user_public": None})
    refused("witness_signature", proof(unsigned))  # the account has a key: it must sign
    check(proof(unsigned), account_public=None)  # an account without a key yet
    refused("witness_signature", proof(), account_public=None)  # a key the account lacks


def test_the_signature_covers_every_field_but_itself() -> None:
    body = attested()
    assert signed_content(body) == signed_content(body.model_copy(update={"user_sig": None}))
    assert signed_content(body) != signed_content(body.model_copy(update={"device_id": "x"}))


def test_link_after_sync_needs_the_named_record_on_the_same_device() -> None:
    found = proof()
    assert link_holds(found, "rec-1", DEVICE)
    assert not link_holds(found, "rec-2", DEVICE)
    assert not link_holds(found, "rec-1", "dev-other")


def test_witnessed_dose_is_the_orders_dose_in_its_unit() -> None:
    order = f.order_model("r-1", "o-1", dose=Decimal("5"), dose_unit="mg", strength="5 mg")
    request = WitnessRequest(purpose="administration", resident_id="r-1", order_id="o-1",
                             scheduled_for=AT)
    assert witnessed_dose(order, request).amount == Decimal("5")
    assert witnessed_dose(order, replace(request, amount="0.005", unit="g")).amount == Decimal("5")
    with pytest.raises(RuleViolation) as wrong:
        witnessed_dose(order, replace(request, amount="50"))
    assert wrong.value.code == "dose_mismatch" and wrong.value.field == "dose"
    waste = WitnessRequest(purpose="waste", resident_id="r-1", order_id="o-1",
                           scheduled_for=AT, amount="2,5", decimal_comma=True)
    assert witnessed_dose(order, waste).amount == Decimal("2.5")
    for bad in (None, "0", "-1", "1e9", "nan"):
        with pytest.raises(RuleViolation) as invalid:
            witnessed_dose(order, replace(waste, amount=bad))
        assert invalid.value.field == "dose"
