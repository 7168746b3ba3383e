"""The verifier's own signature of an order decision (pure core): a good signature by a key
the account held checks; tampered content, another person's key, a key the account never held,
a forged signature and a missing entry do not; a returned decision names "returned"."""

from __future__ import annotations

from typing import Any

import pytest

from mar_desktop import kinds
from mar_desktop.clinical.decision_signature import (
    DecisionSignature,
    check_decision_signature,
    sign_decision,
    signature_entry_id,
    signed_content,
)
from mar_desktop.envelope import Entry, new_id
from mar_desktop.signing import DeviceSigner

KEY = DeviceSigner.generate()
OTHER = DeviceSigner.generate()


def decision(kind: str = kinds.ORDER_VERIFIED, verifier: str = "u-nurse2") -> Entry:
    body: dict[str, Any] = {
        "v": 1, "order_id": "o-1", "target_entry_id": "t-1", "target_author_user_id": "u-admin"
    }
    body |= {"note": ""} if kind == kinds.ORDER_VERIFIED else {"reason": "wrong drug"}
    return Entry(
        id=new_id(), facility_id="f", device_id="d", seq=5, prev="0" * 64,
        recorded_at="2026-01-01T00:00:00Z", kind=kind,
        actor={"user_id": verifier, "role": "nurse"}, body=body, sig="", raw=b"",
    )


def signed_for(entry: Entry, key: DeviceSigner = KEY, **changes: str) -> kinds.OrderDecisionSigned:
    fields = {
        "decision_entry_id": entry.id, "decision_kind": entry.kind,
        "target_entry_id": "t-1", "order_id": "o-1", "resident_id": "r-1",
        "verifier_user_id": str(entry.actor["user_id"]), **changes,
    }
    return sign_decision(key=key, **fields)  # type: ignore[arg-type]


def check(entry: Entry, signed: kinds.OrderDecisionSigned | None,
          held: frozenset[str] = frozenset({KEY.public_hex})) -> DecisionSignature:
    return check_decision_signature(entry, signed, resident_id="r-1", held_keys=held)


@pytest.mark.parametrize("kind", [kinds.ORDER_VERIFIED, kinds.ORDER_RETURNED])
def test_a_signature_by_a_key_the_verifier_held_over_this_decision_checks(kind: str) -> None:
    entry = decision(kind)
    signed = signed_for(entry)
    assert signed.decision == ("verified" if kind == kinds.ORDER_VERIFIED else "returned")
    assert check(entry, signed) == DecisionSignature.SIGNED
    # a key replaced later still counts: it was the person's when they signed
    assert check(entry, signed, frozenset({OTHER.public_hex, KEY.public_hex})) == (
        DecisionSignature.SIGNED
    )
    assert kinds.parse_body(kinds.ORDER_DECISION_SIGNED, kinds.body_json(signed)) == signed


def test_a_missing_signature_entry_is_missing() -> None:
    assert check(decision(), None) == DecisionSignature.MISSING


@pytest.mark.parametrize(
    "changes",
    [
        {"target_entry_id": "t-2"},
        {"order_id": "o-2"},
        {"resident_id": "r-2"},
        {"verifier_user_id": "u-someone"},
        {"decision_kind": kinds.ORDER_RETURNED},
    ],
)
def test_a_signature_naming_anything_else_is_refused(changes: dict[str, str]) -> None:
    entry = decision()
    assert check(entry, signed_for(entry, **changes)) == DecisionSignature.CONTENT


def test_a_signature_of_another_decision_entry_is_refused() -> None:
    entry, other = decision(), decision()
    assert check(entry, signed_for(other)) == DecisionSignature.CONTENT


def test_tampered_content_after_signing_does_not_verify() -> None:
    entry = decision()
    signed = signed_for(entry, target_entry_id="t-2")
    tampered = signed.model_copy(update={"target_entry_id": "t-1"})  # the content, not the sig
    assert check(entry, tampered) == DecisionSignature.SIGNATURE


def test_another_persons_key_is_refused_even_when_the_signature_verifies() -> None:
    entry = decision()
    by_other = signed_for(entry, key=OTHER)
    assert check(entry, by_other) == DecisionSignature.KEY
    assert check(entry, signed_for(entry), frozenset()) == DecisionSignature.KEY  # holds none


def test_a_signature_claiming_the_verifiers_key_but_made_by_another_does_not_verify() -> None:
    entry = decision()
    signed = signed_for(entry, key=OTHER)
    forged = signed.model_copy(update={"user_public": KEY.public_hex})
    assert check(entry, forged) == DecisionSignature.SIGNATURE


def test_the_content_is_domain_separated_and_the_entry_id_is_derived() -> None:
    entry = decision()
    signed = signed_for(entry)
    content = signed_content(signed)
    assert content.startswith(b"mar-desktop/order-decision-signed/v1\x00")
    assert b"user_sig" not in content
    assert signature_entry_id(entry.id) == signature_entry_id(entry.id) != entry.id
    assert signature_entry_id(entry.id) != signature_entry_id(new_id())
