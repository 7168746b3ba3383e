"""Overrides across tablets, over real TLS 1.3: a dose with a bypassed scan shows its override
on another tablet of this version; a tablet running the previous release's model (which has no
``administration.overrides`` kind) keeps that entry unapplied, quarantines nothing and still
counts the dose; an order carrying a PRN indication range (a v3 body) is never shown there;
the normal on-time pass records no override at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.demo.history import scan_string
from mar_desktop.envelope import new_id
from mar_desktop.model import Outcome, PrnIndication
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.reference import ReferenceService
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import Cart, cart, next_slot, plain_orders, seed, two_carts


def _overrides_count(c: Cart) -> int:
    conn = c.tab.store.connect_reader()
    try:
        row = conn.execute(
            "SELECT count(*) FROM ledger WHERE kind = ?", (kinds.ADMINISTRATION_OVERRIDES,)
        ).fetchone()
    finally:
        conn.close()
    return int(row[0])


def test_an_older_tablet_keeps_the_overrides_unapplied_and_still_counts_the_dose(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        newer = cart(site, "newer")
        seeded = seed(newer)
        newer.tab.engine.sync_once()
        other = cart(site, "other")
        older = cart(site, "older")
        with monkeypatch.context() as old:
            old.delitem(kinds.BODY_TYPES, kinds.ADMINISTRATION_OVERRIDES)
            older.tab.engine.sync_once()
        other.tab.engine.sync_once()

        [(resident, order)] = plain_orders(seeded, 1)
        slot = next_slot(newer, order)
        for c in (newer, other, older):
            c.clock.set(slot + timedelta(minutes=2))  # type: ignore[operator]
        request = AdministrationRequest(
            resident_id=resident.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
            scheduled_for=slot,  # type: ignore[arg-type]
            identity_confirmed=True, wristband_bypass_reason="band_missing",
            medication_scan=scan_string(order), allergy_acknowledged=True,
        )
        dose = newer.recording.record_administration(newer.principal(seeded, "nurse"), request)
        newer.tab.engine.sync_once()

        other.tab.engine.sync_once()
        (views,) = other.tab.store.reader().dose_overrides([dose.id]).values()
        assert [(v.code, v.reason, v.legacy) for v in views] == [
            ("wristband_not_scanned", "Wristband missing", False)
        ]

        with monkeypatch.context() as old:
            old.delitem(kinds.BODY_TYPES, kinds.ADMINISTRATION_OVERRIDES)
            report = older.tab.engine.sync_once()
            assert report.quarantined == 0 and report.newer == 1  # kept, chain-verified
            record = older.tab.store.reader().administration(dose.id)
            assert record is not None and record.counts_as_given  # the dose still counts
            assert _overrides_count(older) == 1
    finally:
        stop_site(site)


def test_the_normal_on_time_pass_on_two_carts_records_no_override(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        a, b, seeded = two_carts(site)
        given = []
        for index, (resident, order) in enumerate(plain_orders(seeded)):
            c = (a, b)[index % 2]
            slot = next_slot(c, order)
            c.clock.set(slot)  # type: ignore[arg-type]
            given.append(c.give(seeded, order, resident, slot).id)
        for c in (a, b, a):
            c.tab.engine.sync_once()
        assert len(given) >= 4
        for c in (a, b):
            assert _overrides_count(c) == 0
            assert c.tab.store.reader().dose_overrides(given) == {}
    finally:
        stop_site(site)


class _OrderCreatedV2(kinds.OrderCreated):
    """``order.created`` as the release before PRN indication ranges knew it: body v2 at
    most (its order model had no indication field either)."""

    v: Literal[1, 2] = 2  # type: ignore[assignment]


def test_an_older_tablet_never_shows_an_order_with_an_indication_range(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        newer = cart(site, "newer")
        seeded = seed(newer)
        newer.tab.engine.sync_once()
        older = cart(site, "older")
        with monkeypatch.context() as old:
            old.setitem(kinds.BODY_TYPES, kinds.ORDER_CREATED, _OrderCreatedV2)
            older.tab.engine.sync_once()
        base = next(o for o in seeded.demo.orders if o.is_prn)
        plain = base.model_copy(update={"order_id": new_id()})
        ranged = base.model_copy(update={
            "order_id": new_id(), "prn_indication": PrnIndication(minimum=7, maximum=10),
        })
        reference = ReferenceService(newer.ports)
        for order in (plain, ranged):
            reference.create_order(newer.principal(seeded, "admin"), order,
                                   allergy_acknowledged=True)
        newer.tab.engine.sync_once()
        with monkeypatch.context() as old:
            old.setitem(kinds.BODY_TYPES, kinds.ORDER_CREATED, _OrderCreatedV2)
            report = older.tab.engine.sync_once()
            assert report.quarantined == 0 and report.newer == 1  # the v3 body, kept
            read = older.tab.store.reader()
            assert read.order(plain.order_id) is not None  # a v2 body as before
            assert read.order(ranged.order_id) is None  # never shown, never given unchecked
    finally:
        stop_site(site)
