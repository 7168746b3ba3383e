"""Overrides across tablets, over real TLS 1.3: a dose with a bypassed scan shows its override
on another tablet of this version; a tablet running the previous release's model (which has no
``administration.overrides`` kind) keeps that entry unapplied, quarantines nothing and still
counts the dose; the normal on-time pass records no override at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.demo.history import scan_string
from mar_desktop.model import Outcome
from mar_desktop.services.recording import AdministrationRequest
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import Cart, cart, next_slot, plain_orders, seed


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
        a = cart(site, "cart-a")
        seeded = seed(a)
        a.tab.engine.sync_once()
        b = cart(site, "cart-b")
        b.tab.engine.sync_once()
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
