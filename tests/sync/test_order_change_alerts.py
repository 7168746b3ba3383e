"""Reconciliation covers every order change: a dose recorded on a tablet that had not yet heard
that the order was held or changed raises an alert on every tablet after sync, naming both
entries; an older tablet that does not know the new alert types keeps them unapplied and loses
nothing. Real server, real TLS (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.kinds import Body
from mar_desktop.model import Id, Text
from mar_desktop.services.reference import ReferenceService
from sync.server.app import alert_infos
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import Cart, cart, next_slot, plain_orders, two_carts


def _alerts(c: Cart, alert_type: str) -> list[set[str]]:
    return [set(a.related_entry_ids) for a in c.tab.store.reader().alerts()
            if a.alert_type == alert_type]


def _last_of_kind(c: Cart, kind: str) -> Entry:
    """The newest ledger entry of ``kind`` this tablet holds."""
    conn = c.tab.store.connect_reader()
    try:
        rows = [parse_raw(bytes(raw)) for (raw,) in conn.execute("SELECT raw FROM ledger")]
    finally:
        conn.close()
    return [e for e in rows if e.kind == kind][-1]


def _half_an_hour_before_a_dose(seeded: object, *carts: Cart) -> tuple[Any, Any, Any]:
    """A plain scheduled order, its resident and its next dose time; every cart's clock half an
    hour before it (the order change happens then, the dose at the slot)."""
    resident, order = plain_orders(seeded, 1)[0]  # type: ignore[arg-type]
    slot = next_slot(carts[0], order)
    for c in carts:
        c.clock.set(slot - timedelta(minutes=30))  # type: ignore[operator]
    return resident, order, slot


def test_a_dose_given_on_a_tablet_that_missed_the_hold_alerts_everywhere(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        a, b, seeded = two_carts(site)
        resident, order, slot = _half_an_hour_before_a_dose(seeded, a, b)
        # A holds the order from now on and syncs; B is offline and has not heard.
        ReferenceService(a.ports).hold_order(
            a.principal(seeded, "admin"), order.order_id, "NPO for a procedure")
        hold = _last_of_kind(a, kinds.ORDER_HELD)
        a.tab.engine.sync_once()
        for c in (a, b):
            c.clock.set(slot)  # type: ignore[arg-type]
        dose: Entry = b.give(seeded, order, resident, slot)  # type: ignore[arg-type]
        b.tab.engine.sync_once()
        a.tab.engine.sync_once()
        b.tab.engine.sync_once()

        held = [x for x in alert_infos(site.core, site.facility_id)
                if x.alert_type == "held_order_dose"]
        assert len(held) == 1
        for c in (a, b):
            assert _alerts(c, "held_order_dose") == [{hold.id, dose.id}]
        # nothing else was alerted about this normal pass
        assert not _alerts(a, "discontinued_order_dose") and not _alerts(a, "double_dose")
    finally:
        stop_site(site)


def test_a_dose_by_an_orders_old_version_after_a_change_alerts_everywhere(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        a, b, seeded = two_carts(site)
        resident, order, slot = _half_an_hour_before_a_dose(seeded, a, b)
        # a lower dose acts at once (an increase would wait for verification, the old
        # version staying givable until then)
        changed = order.model_copy(update={"order_id": order.order_id + "-v2",
                                           "dose": order.dose / Decimal(2)})
        ReferenceService(a.ports).change_order(
            a.principal(seeded, "admin"), order.order_id, changed, "dose halved by the GP")
        change = _last_of_kind(a, kinds.ORDER_CHANGED)
        a.tab.engine.sync_once()
        for c in (a, b):
            c.clock.set(slot)  # type: ignore[arg-type]
        dose = b.give(seeded, order, resident, slot)  # the old version, on the offline tablet
        b.tab.engine.sync_once()
        a.tab.engine.sync_once()

        for c in (a, b):
            assert _alerts(c, "changed_order_dose") == [{change.id, dose.id}]
            assert not _alerts(c, "discontinued_order_dose")
    finally:
        stop_site(site)


class AlertRaisedV1(Body):
    """``alert.raised`` as the previous release knew it (v1, six alert types)."""

    alert_id: Id
    alert_type: Literal["double_dose", "discontinued_order_dose", "prn_interval",
                        "prn_daily_max", "clock_skew", "fork"]
    resident_id: Id | None = None
    order_id: Id | None = None
    related_entry_ids: tuple[Id, ...] = ()
    device_id: Id | None = None
    detail: Text = ""


def test_an_older_tablet_keeps_a_new_alert_type_unapplied_and_loses_nothing(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        a, older, seeded = two_carts(site)
        c = cart(site, "cart-c")
        c.tab.engine.sync_once()
        resident, order, slot = _half_an_hour_before_a_dose(seeded, a, older, c)
        ReferenceService(a.ports).hold_order(a.principal(seeded, "admin"), order.order_id,
                                             "NPO for a procedure")
        a.tab.engine.sync_once()
        for t in (a, older, c):
            t.clock.set(slot)  # type: ignore[arg-type]
        # C, offline through the hold, gives the dose; the server (new release) alerts
        c.give(seeded, order, resident, slot)  # type: ignore[arg-type]
        c.tab.engine.sync_once()
        assert [x.alert_type for x in alert_infos(site.core, site.facility_id)
                if x.alert_type == "held_order_dose"] == ["held_order_dose"]
        # the older tablet pulls it running the previous release's model of alert.raised
        dose = older.give(seeded, order, resident, slot)  # type: ignore[arg-type]
        monkeypatch.setitem(kinds.BODY_TYPES, kinds.ALERT_RAISED, AlertRaisedV1)
        report = older.tab.engine.sync_once()
        assert report.newer >= 1 and report.quarantined == 0 and not report.held_back
        assert older.tab.engine.pending() == 0
        assert older.tab.store.reader().administration(dose.id) is not None
        assert not _alerts(older, "held_order_dose")  # kept, not applied
        monkeypatch.setitem(kinds.BODY_TYPES, kinds.ALERT_RAISED, kinds.AlertRaised)
        a.tab.engine.sync_once()
        assert len(_alerts(a, "held_order_dose")) >= 1  # the newer tablet shows it
    finally:
        stop_site(site)
