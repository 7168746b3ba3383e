"""The verifier's own signature of an order verification or return
(docs/architecture.md#order-verification).

An ``order.verified`` / ``order.returned`` entry is sealed by the device key. When the verifier's
account has a per-user key, the same transaction also records an ``order.decision_signed``
entry (:class:`~mar_desktop.kinds.OrderDecisionSigned`) just after it: the verifier's Ed25519
signature over the decision's content, stored under :func:`signature_entry_id` of the decision
entry's id so any tablet finds it without an index.

- :func:`signed_content`, :func:`sign_decision`: what the verifier signs (domain-separated, so
  it cannot pass as a witness signature or any other signature of theirs) and signing it.
- :func:`check_decision_signature`: whether a stored decision is signed by its verifier's own
  key — the signature verifies, the key is one the verifier's account held, and the signed
  content names exactly this decision entry, its target, order, resident, decision and actor.

Pure; any thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from mar_desktop.canonical import canonical_bytes
from mar_desktop.envelope import Entry
from mar_desktop.kinds import (
    ORDER_DECISION_SIGNED,
    ORDER_RETURNED,
    ORDER_VERIFIED,
    OrderDecisionSigned,
    body_json,
)
from mar_desktop.signing import DeviceSigner, load_public_key

_DOMAIN = b"mar-desktop/order-decision-signed/v1\x00"
_ID_NAMESPACE = uuid.UUID("5b0c2f0e-8a52-4d1e-9a57-3d0f6f0c9e11")
"""Fixed namespace of :func:`signature_entry_id` (never change: stored ids depend on it)."""

DECISIONS = {ORDER_VERIFIED: "verified", ORDER_RETURNED: "returned"}
"""The decision kinds and the word each signature names."""


class DecisionSignature(StrEnum):
    """What :func:`check_decision_signature` found."""

    SIGNED = "signed"  # by a key the verifier's account held, over exactly this decision
    MISSING = "missing"  # no signature entry (account without a key, or an older tablet)
    CONTENT = "content"  # the signature entry names another decision, order or person
    KEY = "key"  # signed by a key the verifier's account never held
    SIGNATURE = "signature"  # the signature does not verify


def signature_entry_id(decision_entry_id: str) -> str:
    """The entry id the ``order.decision_signed`` entry of ``decision_entry_id`` is stored
    under (a name-based UUID: the same on every tablet and the server)."""
    return str(uuid.uuid5(_ID_NAMESPACE, decision_entry_id))


def signed_content(body: OrderDecisionSigned | dict[str, Any]) -> bytes:
    """The bytes the verifier signs: the domain, then the canonical JSON of the body without
    ``user_sig``."""
    data = dict(body_json(body) if isinstance(body, OrderDecisionSigned) else body)
    data.pop("user_sig", None)
    return _DOMAIN + canonical_bytes(data)


def sign_decision(
    *,
    decision_entry_id: str,
    decision_kind: str,
    target_entry_id: str,
    order_id: str,
    resident_id: str,
    verifier_user_id: str,
    key: DeviceSigner,
) -> OrderDecisionSigned:
    """The signature body for a decision about to be stored as ``decision_entry_id``, signed
    by ``key`` (the verifier's own key). Raises KeyError for a kind that is not a decision."""
    data: dict[str, Any] = {
        "v": 1,
        "decision_entry_id": decision_entry_id,
        "target_entry_id": target_entry_id,
        "resident_id": resident_id,
        "order_id": order_id,
        "decision": DECISIONS[decision_kind],
        "verifier_user_id": verifier_user_id,
        "user_public": key.public_hex,
    }
    signature = key.sign(signed_content(data)).hex()
    return OrderDecisionSigned.model_validate({**data, "user_sig": signature})


def check_decision_signature(
    decision: Entry,
    signed: OrderDecisionSigned | None,
    *,
    resident_id: str,
    held_keys: Collection[str],
) -> DecisionSignature:
    """Whether ``signed`` is the verifier's own signature of the stored ``decision`` entry
    (an ``order.verified``/``order.returned`` of the order of ``resident_id``). ``held_keys``:
    the public keys the verifier's account records say they held (empty: none). Checked in
    this order: MISSING, CONTENT, KEY, SIGNATURE; SIGNED only when everything holds."""
    if signed is None:
        return DecisionSignature.MISSING
    body = decision.body
    expected = {
        "decision_entry_id": decision.id,
        "target_entry_id": body.get("target_entry_id"),
        "order_id": body.get("order_id"),
        "resident_id": resident_id,
        "decision": DECISIONS.get(decision.kind),
        "verifier_user_id": decision.actor.get("user_id"),
    }
    if any(getattr(signed, name) != value for name, value in expected.items()):
        return DecisionSignature.CONTENT
    if signed.user_public not in held_keys:
        return DecisionSignature.KEY
    try:
        key = load_public_key(signed.user_public)
        signature = bytes.fromhex(signed.user_sig)
    except ValueError:
        return DecisionSignature.SIGNATURE
    if not key.verify(signature, signed_content(signed)):
        return DecisionSignature.SIGNATURE
    return DecisionSignature.SIGNED


__all__ = [
    "DECISIONS",
    "ORDER_DECISION_SIGNED",
    "DecisionSignature",
    "check_decision_signature",
    "sign_decision",
    "signature_entry_id",
    "signed_content",
]
