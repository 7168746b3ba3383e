"""The verifier's own signature of an order decision across tablets and the server, over real
TLS 1.3: a current tablet pulls the ``order.decision_signed`` entry and checks it against the
verifier's key; an older tablet (the previous release's model, which does not know the kind)
keeps it unapplied ("recorded by a newer version") and still applies the verification, so the
order is givable there too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.clinical.decision_signature import DecisionSignature, signature_entry_id
from mar_desktop.envelope import new_id
from mar_desktop.model import Order
from mar_desktop.services.reference import ReferenceService
from mar_desktop.services.verification import VerificationService
from mar_desktop.signing import DeviceSigner
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import Cart, cart, plain_orders, seed

NURSE_KEY = DeviceSigner.generate()


def _new_order(c: Cart, base: Order, seeded: object) -> Order:
    order = base.model_copy(
        update={"order_id": new_id(), "start": c.clock.now() - timedelta(hours=1)}
    )
    ReferenceService(c.ports).create_order(
        c.principal(seeded, "admin"), order, allergy_acknowledged=True  # type: ignore[arg-type]
    )
    return order


def _as_older_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """The previous release: everything but the ``order.decision_signed`` kind."""
    monkeypatch.delitem(kinds.BODY_TYPES, kinds.ORDER_DECISION_SIGNED)


def test_an_older_tablet_keeps_the_signature_unapplied_and_applies_the_verification(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        newer = cart(site, "newer")
        seeded = seed(newer)
        [(_, base)] = plain_orders(seeded, 1)
        order = _new_order(newer, base, seeded)
        newer.tab.engine.sync_once()
        older = cart(site, "older")
        with monkeypatch.context() as old:
            _as_older_version(old)
            older.tab.engine.sync_once()
        state = older.tab.store.reader().order(order.order_id)
        assert state is not None and state.awaiting_verification and not state.givable

        nurse = newer.principal(seeded, "nurse")  # type: ignore[arg-type]
        verifier = VerificationService(newer.ports, user_key=lambda _uid: NURSE_KEY)
        target = next(
            p.target_entry_id for p in verifier.pending(nurse)
            if p.pending.state.order_id == order.order_id
        )
        decided = verifier.verify(nurse, target)
        assert newer.tab.store.ledger.entry(signature_entry_id(decided.id)) is not None
        newer.tab.engine.sync_once()

        # a current tablet: the signature checks against the key the nurse holds
        current = cart(site, "current")
        current.tab.engine.sync_once()
        checker = VerificationService(
            current.ports, held_keys=lambda _uid: frozenset({NURSE_KEY.public_hex})
        )
        at_current = current.principal(seeded, "nurse")  # type: ignore[arg-type]
        assert checker.decision_signature(at_current, decided.id).status == (
            DecisionSignature.SIGNED
        )

        # the older tablet: the new kind kept unapplied, the verification applied
        with monkeypatch.context() as old:
            _as_older_version(old)
            report = older.tab.engine.sync_once()
            assert report.quarantined == 0 and report.newer > 0  # kept, chain-verified
            state = older.tab.store.reader().order(order.order_id)
            assert state is not None and state.givable and not state.awaiting_verification
            kept = older.tab.store.ledger.entry(signature_entry_id(decided.id))
            assert kept is not None and kept.kind == kinds.ORDER_DECISION_SIGNED
    finally:
        stop_site(site)
