"""An order decision signed with the verifier's own key, through the path the screen uses (the
app's Backend on the real stack): a nurse signed in with a user key verifies (or returns) an
order and ONE transaction stores the decision and, just after it, the ``order.decision_signed``
entry whose signature checks against the key her account holds; without a user key only the
decision is written and it reads as signed by the device's key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mar_desktop import kinds
from mar_desktop.clinical.decision_signature import (
    DecisionSignature,
    check_decision_signature,
    signature_entry_id,
)
from mar_desktop.envelope import Entry
from mar_desktop.permissions import Principal
from mar_desktop.services.verification import VerificationService
from storage.credentials import SqlCredentialStore
from tests.ui.harness import PASSWORD, Facility1, build_facility
from tests.ui.verify_setup import ports_of, seed_pending


@pytest.fixture
def site(tmp_path: Path, memory_keyring: object) -> Iterator[Facility1]:
    built = build_facility(tmp_path)
    seed_pending(built)
    try:
        yield built
    finally:
        built.backend.close()


def signed_in(site: Facility1, username: str = "nurse2") -> Principal:
    site.backend.auth.sign_in(username, PASSWORD, site.code(username))
    return site.backend.sessions.principal()


def amlodipine_target(site: Facility1, principal: Principal) -> str:
    return next(
        p.target_entry_id for p in site.backend.verification.pending(principal)
        if p.pending.state.order_id == "o-amlo"
    )


def signature_entry(site: Facility1, decided: Entry) -> Entry | None:
    return site.store.ledger.entry(signature_entry_id(decided.id))


def account_public(site: Facility1, user_id: str) -> str:
    credentials = SqlCredentialStore(site.store.connect_reader, site.clock)
    try:
        record = credentials.latest(user_id)
        public = getattr(record, "user_public", None)
    finally:
        credentials.close()
    assert isinstance(public, str)
    return public


def test_a_verification_by_a_nurse_with_her_own_key_writes_both_entries_and_checks(
    site: Facility1,
) -> None:
    nurse = signed_in(site)
    verification = site.backend.verification
    decided = verification.verify(nurse, amlodipine_target(site, nurse))
    assert decided.kind == kinds.ORDER_VERIFIED
    signed = signature_entry(site, decided)
    assert signed is not None and signed.kind == kinds.ORDER_DECISION_SIGNED
    # same device, just after the decision, same actor
    assert (signed.device_id, signed.seq) == (decided.device_id, decided.seq + 1)
    assert signed.actor["user_id"] == "u-nurse2"
    body = kinds.parse_body(signed.kind, signed.body)
    assert isinstance(body, kinds.OrderDecisionSigned)
    assert body.user_public == account_public(site, "u-nurse2")
    assert (body.decision, body.order_id, body.resident_id) == ("verified", "o-amlo", "r3")
    assert check_decision_signature(
        decided, body, resident_id="r3", held_keys={account_public(site, "u-nurse2")}
    ) == DecisionSignature.SIGNED
    shown = verification.decision_signature(nurse, decided.id)
    assert shown.own_key and shown.words == "Signed by Tobias Brandt's own key"
    # the order is verified as before (the decision entry itself is unchanged)
    state = site.store.reader().order("o-amlo")
    assert state is not None and not state.awaiting_verification


def test_a_return_is_signed_the_same_way(site: Facility1) -> None:
    nurse = signed_in(site)
    verification = site.backend.verification
    decided = verification.return_order(nurse, amlodipine_target(site, nurse), "wrong dose")
    signed = signature_entry(site, decided)
    assert signed is not None and signed.seq == decided.seq + 1
    assert signed.body["decision"] == "returned"
    assert verification.decision_signature(nurse, decided.id).own_key


def test_another_persons_held_keys_do_not_make_it_hers(site: Facility1) -> None:
    nurse = signed_in(site)
    decided = site.backend.verification.verify(nurse, amlodipine_target(site, nurse))
    # a checker that knows only another account's key: the signature is not hers
    other_key = account_public(site, "u-nurse")
    strict = VerificationService(
        ports_of(site), held_keys=lambda _uid: frozenset({other_key}),
    )
    shown = strict.decision_signature(nurse, decided.id)
    assert shown.status == DecisionSignature.KEY and not shown.own_key
    assert "own key" not in shown.words


def test_without_a_user_key_only_the_decision_is_written(site: Facility1) -> None:
    nurse = signed_in(site)
    keyless = VerificationService(ports_of(site))
    decided = keyless.verify(nurse, amlodipine_target(site, nurse))
    assert signature_entry(site, decided) is None
    shown = site.backend.verification.decision_signature(nurse, decided.id)
    assert shown.status == DecisionSignature.MISSING and not shown.own_key
    assert shown.words == "Signed by this device's key"
