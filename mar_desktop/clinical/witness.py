"""The witness is proven: the checks a Schedule II dose or waste makes on the ``witness.attested``
entry it references (docs/architecture.md#the-witness-entry).

- :func:`signed_content`, :func:`sign_attestation`, :func:`user_signature_ok`: the witness's
  own signature (their per-user Ed25519 key) over the entry body, domain-separated so it cannot
  pass as any other signature of theirs.
- :func:`may_witness`: who is licensed to witness — a nurse, a director of nursing, a
  pharmacist (as witness only), a facility administrator only if the account records a nursing
  licence; always an active account.
- :func:`check_witness_entry`: the reference a dose (or waste) makes is refused when it is
  missing (``witness_missing``); stale (``witness_stale``: signed more than
  :data:`WITNESS_FRESH_FOR` before — 15:00 is still fresh — or stamped in the future); from
  another device (``witness_other_device``); for another dose (``witness_other_dose``:
  purpose, resident, order, slot, amount or unit); for another giver
  (``witness_other_giver``); by the giver (``witness_same_person``); by someone inactive
  (``witness_inactive``) or not licensed to witness (``witness_unlicensed``); or not signed
  by the witness's own key (``witness_signature``).

Every refusal is a :class:`~mar_desktop.errors.RuleViolation` with ``field="witness"`` and a
message a nurse understands. Pure; any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from mar_desktop.canonical import canonical_bytes
from mar_desktop.clinical.dose import check_dose, dose_in_order_unit, parse_amount
from mar_desktop.errors import RuleViolation
from mar_desktop.kinds import (
    WitnessAttestation,
    WitnessAttested,
    WitnessedDose,
    WitnessPurpose,
    body_json,
)
from mar_desktop.model import NURSING_LICENCES, WITNESS_LICENCE, Order, Role, User
from mar_desktop.permissions import Permission, allowed
from mar_desktop.signing import DeviceSigner, load_public_key

WITNESS_FRESH_FOR = timedelta(minutes=15)
"""How long a witness sign-in counts for the dose or waste it names (no facility setting)."""

WITNESS_ROLES = frozenset({Role.NURSE, Role.DIRECTOR_OF_NURSING, Role.PHARMACIST})
"""Roles whose every account may witness (a pharmacist as witness only, never as giver)."""

_DOMAIN = b"mar-desktop/witness-attested/v1\x00"
_CLOCK_SLACK = timedelta(minutes=1)
"""A sign-in stamped later than now by more than this proves nothing (``witness_stale``)."""

MESSAGES: dict[str, str] = {
    "witness_missing": "A Schedule II medication needs a second licensed person to sign in as "
    "witness on this device.",
    "witness_stale": "The witness sign-in has expired; the witness must sign in again.",
    "witness_other_device": "The witness signed in on another device; the witness must sign in "
    "on this one.",
    "witness_other_dose": "The witness signed for a different dose; the witness must sign in "
    "again for this one.",
    "witness_other_giver": "The witness signed for another nurse's dose; the witness must sign "
    "in again.",
    "witness_same_person": "The witness must be a different person.",
    "witness_inactive": "The witness's account is not active.",
    "witness_unlicensed": WITNESS_LICENCE,
    "witness_signature": "The witness sign-in could not be proven; the witness must sign in "
    "again.",
    "witness_used": "This witness sign-in was already used for a record; the witness must sign "
    "in again.",
}
"""Each refusal code in words, for the screen and the command line."""


def _refuse(code: str) -> RuleViolation:
    return RuleViolation(MESSAGES[code], code=code, field="witness")


def may_witness(user: User) -> bool:
    """Whether ``user``'s account is licensed to witness (see the module doc); the role must
    also hold the ``witness`` permission."""
    if not allowed(user.role, Permission.WITNESS):
        return False
    if user.role in WITNESS_ROLES:
        return True
    held = {part.strip(" .").upper() for part in user.credentials.replace("/", ",").split(",")}
    return user.role == Role.FACILITY_ADMIN and bool(held & NURSING_LICENCES)


def check_witness_user(giver_user_id: str, witness: User | None) -> None:
    """The witness is someone else, active and licensed to witness."""
    if witness is None:
        raise _refuse("witness_unlicensed")
    if witness.user_id == giver_user_id:
        raise _refuse("witness_same_person")
    if not witness.active:
        raise _refuse("witness_inactive")
    if not may_witness(witness):
        raise _refuse("witness_unlicensed")


# ---- the witness's own signature ---------------------------------------------------------------
def signed_content(body: WitnessAttested | dict[str, Any]) -> bytes:
    """The bytes the witness signs: the domain, then the canonical JSON of the body without
    ``user_sig``."""
    data = dict(body_json(body) if isinstance(body, WitnessAttested) else body)
    data.pop("user_sig", None)
    return _DOMAIN + canonical_bytes(data)


def sign_attestation(body: WitnessAttested, key: DeviceSigner) -> WitnessAttested:
    """``body`` with ``user_public`` set to ``key``'s and ``user_sig`` by ``key``."""
    unsigned = body.model_copy(update={"user_public": key.public_hex, "user_sig": None})
    return unsigned.model_copy(update={"user_sig": key.sign(signed_content(unsigned)).hex()})


def user_signature_ok(body: WitnessAttested, account_public: str | None) -> bool:
    """True when the body carries a valid signature by ``account_public`` (the witness's
    account key); when the account has no key, only a body without a signature is accepted
    (device signature alone) — a signature by an unknown key is never."""
    if account_public is None:
        return body.user_sig is None and body.user_public is None
    if body.user_sig is None or body.user_public != account_public:
        return False
    try:
        key = load_public_key(account_public)
        signature = bytes.fromhex(body.user_sig)
    except ValueError:
        return False
    return key.verify(signature, signed_content(body))


# ---- the reference -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WitnessProof:
    """A stored ``witness.attested`` entry: the device that signed its envelope and its body."""

    entry_id: str
    device_id: str
    body: WitnessAttested


def check_witness_entry(
    proof: WitnessProof | None,
    *,
    purpose: WitnessPurpose,
    dose: WitnessedDose,
    of_entry_id: str | None,
    device_id: str,
    giver_user_id: str,
    witness: User | None,
    account_public: str | None,
    now: datetime,
    fresh_for: timedelta = WITNESS_FRESH_FOR,
) -> None:
    """Refuses a reference that does not prove a witness for exactly this record (see the
    module doc for the codes, checked in that order). ``witness``: the witness's account as
    this device knows it now; ``account_public``: its user key (None: it has none)."""
    if proof is None:
        raise _refuse("witness_missing")
    body = proof.body
    signed_at = body.witness.authenticated_at
    if now - signed_at > fresh_for or signed_at - now > _CLOCK_SLACK:
        raise _refuse("witness_stale")
    if proof.device_id != device_id or body.device_id != device_id:
        raise _refuse("witness_other_device")
    if body.purpose != purpose or body.dose != dose or body.of_entry_id != of_entry_id:
        raise _refuse("witness_other_dose")
    if body.giver_user_id != giver_user_id:
        raise _refuse("witness_other_giver")
    if witness is None or witness.user_id != body.witness.user_id:
        raise _refuse("witness_unlicensed")
    check_witness_user(giver_user_id, witness)
    if not user_signature_ok(body, account_public):
        raise _refuse("witness_signature")


def link_holds(proof: WitnessProof, record_entry_id: str, record_device_id: str) -> bool:
    """After sync: whether the stored ``witness.attested`` entry ``proof`` witnesses the record
    stored as ``record_entry_id`` by ``record_device_id`` (same device, named record)."""
    return (
        proof.body.record_entry_id == record_entry_id
        and proof.device_id == record_device_id
        and proof.body.device_id == record_device_id
    )


# ---- what a witness signs for ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WitnessRequest:
    """The record a witness is asked to sign for, as the screen has it. ``amount`` as typed
    (None: the order's dose; for a waste, the amount discarded), ``unit`` None: the order's."""

    purpose: WitnessPurpose
    resident_id: str
    order_id: str
    scheduled_for: datetime | None
    amount: str | Decimal | None = None
    unit: str | None = None
    decimal_comma: bool = False
    of_entry_id: str | None = None
    """For a waste: the administration it was part of."""


@dataclass(frozen=True, slots=True)
class WitnessSignIn:
    """A witness's completed sign-in: the attestation and the ``witness.attested`` entry that
    the record must reference. Holds no secret."""

    attestation: WitnessAttestation
    entry_id: str


def witnessed_dose(order: Order, request: WitnessRequest) -> WitnessedDose:
    """The dose (or waste) ``request`` names, in the order's unit. Raises RuleViolation
    (``dose_*``, field "dose") for an amount that is not the order's dose (administration) or
    not a positive amount of the order's unit dimension (waste)."""
    if request.purpose == "administration":
        typed = order.dose if request.amount is None else request.amount
        amount = check_dose(order, typed, request.unit, decimal_comma=request.decimal_comma)
    else:
        if request.amount is None:
            raise RuleViolation("Enter the amount wasted.", code="dose_invalid", field="dose")
        value = parse_amount(request.amount, decimal_comma=request.decimal_comma)
        unit = order.dose_unit if not request.unit or not request.unit.strip() else request.unit
        amount = dose_in_order_unit(order, value, unit)
    return WitnessedDose(
        resident_id=request.resident_id,
        order_id=request.order_id,
        scheduled_for=request.scheduled_for,
        amount=amount,
        unit=order.dose_unit,
    )
