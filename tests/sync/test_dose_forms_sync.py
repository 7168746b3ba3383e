"""Dose forms across tablets through a real server: the 24 h amount maximum of an ingredient
broken by doses on two offline tablets alerts on both; an older tablet (the previous release's
model) keeps a v3 order (range, sliding scale, daily maximum) and the ``administration.partial``
kind unapplied, while plain orders and every dose, partial ones included, stay as before."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from pydantic import model_validator

from mar_desktop import kinds
from mar_desktop.demo.history import scan_string
from mar_desktop.envelope import Entry, new_id
from mar_desktop.model import ORDER_V3_FIELDS, Order, Outcome, Schedule
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.reference import ReferenceService
from mar_desktop.services.verification import VerificationService
from sync.server.app import alert_infos
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import Cart, cart, seed

PRN_ANY_TIME = Schedule(kind="prn")


def _enter(c: Cart, seeded: Any, base: Order, **fields: Any) -> Order:
    order = Order.model_validate({
        **base.model_dump(), "order_id": new_id(), "start": c.clock.now() - timedelta(hours=1),
        **fields,
    })
    ReferenceService(c.ports).create_order(
        c.principal(seeded, "admin"), order, allergy_acknowledged=True
    )
    verifier = VerificationService(c.ports)
    nurse = c.principal(seeded, "nurse")
    for item in verifier.pending(nurse):
        if item.pending.state.order_id == order.order_id:
            verifier.verify(nurse, item.pending.target_entry_id)
    return order


def _give(c: Cart, seeded: Any, order: Order, **fields: Any) -> Entry:
    resident = c.tab.store.reader().resident(order.resident_id)
    assert resident is not None
    req = AdministrationRequest(
        resident_id=order.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
        wristband_scan=resident.wristband_id, medication_scan=scan_string(order),
        allergy_acknowledged=True, prn_reason="Knee pain", pain_score=5, **fields,
    )
    return c.recording.record_administration(c.principal(seeded, "nurse"), req)


def _acetaminophen(seeded: Any) -> Order:
    return next(o for o in seeded.demo.orders if o.drug == "Acetaminophen")


def test_an_amount_maximum_broken_by_two_offline_tablets_alerts_on_both(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        a = cart(site, "cart-a")
        seeded = seed(a)
        order = _enter(a, seeded, _acetaminophen(seeded), schedule=PRN_ANY_TIME,
                       max_amount_24h=D(1300), max_amount_unit="mg")
        a.tab.engine.sync_once()
        b = cart(site, "cart-b")
        b.tab.engine.sync_once()
        # both offline: each gives within the maximum as far as it knows
        first = _give(a, seeded, order)
        for c in (a, b):
            c.clock.advance(timedelta(hours=1))
        second = _give(b, seeded, order)
        for c in (a, b):
            c.clock.advance(timedelta(hours=1))
        third = _give(b, seeded, order, dose_given="650")
        for c in (a, b, a, b):
            c.tab.engine.sync_once()

        raised = [x for x in alert_infos(site.core, site.facility_id)
                  if x.alert_type == "prn_daily_max"]
        assert len(raised) == 1
        for c in (a, b):
            [alert] = [x for x in c.tab.store.reader().alerts() if x.alert_type == "prn_daily_max"]
            assert set(alert.related_entry_ids) == {first.id, second.id, third.id}
            assert "1950 mg of acetaminophen" in alert.detail
        # locally, neither tablet now gives another dose
        with pytest.raises(Exception, match="maximum is 1300 mg"):
            _give(a, seeded, order)
    finally:
        stop_site(site)


# ---- an older tablet: the order model of the release before dose forms ------------------------
class OldOrder(Order):
    """Order as the previous release knew it: any field it did not know is refused."""

    @model_validator(mode="before")
    @classmethod
    def _unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) & set(ORDER_V3_FIELDS):
            raise ValueError("extra fields not permitted")
        return data


class OldOrderCreated(kinds.OrderCreated):
    v: Literal[1, 2] = 2  # type: ignore[assignment]
    order: OldOrder


class OldOrderChanged(kinds.OrderChanged):
    v: Literal[1, 2] = 2  # type: ignore[assignment]
    order: OldOrder


def _as_older_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(kinds.BODY_TYPES, kinds.PARTIAL_DOSE_RECORDED)
    monkeypatch.setitem(kinds.BODY_TYPES, kinds.ORDER_CREATED, OldOrderCreated)
    monkeypatch.setitem(kinds.BODY_TYPES, kinds.ORDER_CHANGED, OldOrderChanged)


def test_an_older_tablet_keeps_v3_orders_and_partial_entries_unapplied_and_counts_every_dose(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        newer = cart(site, "newer")
        seeded = seed(newer)
        base = _acetaminophen(seeded)
        ranged = _enter(newer, seeded, base, dose=D(325), dose_max=D(650),
                        schedule=PRN_ANY_TIME)
        plain = _enter(newer, seeded, base, schedule=PRN_ANY_TIME)
        partial = _give(newer, seeded, plain, dose_given="650", partial_taken="325",
                        partial_reason="spat out")
        newer.clock.advance(timedelta(hours=1))
        ranged_dose = _give(newer, seeded, ranged, dose_given="2", dose_unit="tablets")
        newer.tab.engine.sync_once()

        older = cart(site, "older", snapshots=False)  # reads every entry itself
        with monkeypatch.context() as old:
            _as_older_version(old)
            report = older.tab.engine.sync_once()
            assert report.quarantined == 0 and report.newer > 0  # kept, chain-verified
            read = older.tab.store.reader()
            assert read.order(ranged.order_id) is None  # never mis-read as a fixed dose
            assert read.order(plain.order_id) is not None
            assert read.order(base.order_id) is not None
            taken = read.administration(partial.id)
            assert taken is not None and taken.outcome == Outcome.GIVEN
            assert taken.dose_given == D(325)  # the amount the resident received counts
            assert taken.reason_text == "partial dose: 325 of 650 mg — spat out"
            other = read.administration(ranged_dose.id)
            assert other is not None and other.dose_given == D(650)
    finally:
        stop_site(site)
