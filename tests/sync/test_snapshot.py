"""A new tablet starts from the server's signed snapshot, is usable at once, and fills in its
history in the background (docs/architecture.md#a-new-tablet).

The world: cart A seeds the facility and records doses at ``NOW`` and the day before ``LATER``
(60 days on); the server's clock moves with the carts' and stands at ``LATER`` when B enrols.
A new tablet B then holds, after its first sync without backfill, the current state and the
recent doses only; after backfill it holds exactly what A holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.clock import FakeClock
from mar_desktop.errors import HistoryNotHeld, SyncError
from mar_desktop.model import Id, Text
from mar_desktop.reports.gather import ReportService
from mar_desktop.services.base import Ports
from mar_desktop.services.mar import MarService
from storage import history
from storage.verify import verify_store
from sync import protocol as p
from sync.engine import SyncEngine
from sync.server import snapshot as server_snapshot
from sync.snapshot import _check_manifest
from tests.facility import NOW
from tests.sync.conftest import Site, Tablet, start_site, stop_site
from tests.sync.world import (
    Cart,
    cart,
    ledger_rows,
    next_slot,
    plain_orders,
    seed,
    server_rows,
)

LATER = NOW + timedelta(days=60)


class AlertRaisedV1(kinds.Body):
    """``alert.raised`` as the release before ``snapshot_mismatch`` knew it."""

    alert_id: Id
    alert_type: Literal[
        "double_dose", "discontinued_order_dose", "prn_interval", "prn_daily_max",
        "clock_skew", "fork",
    ]
    resident_id: Id | None = None
    order_id: Id | None = None
    related_entry_ids: tuple[Id, ...] = ()
    device_id: Id | None = None
    detail: Text = ""


@pytest.fixture
def world(tmp_path: Path, cert_files: Path, ca: trustme.CA) -> Iterator[tuple[Site, Cart, object]]:
    server_clock = FakeClock(NOW - timedelta(days=1))  # the server's and carts' clocks agree
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca, server_clock)
    try:
        a = cart(site, "cart-a")
        seeded = seed(a)
        pairs = plain_orders(seeded, 3)
        for resident, order in pairs:  # history, once it is LATER
            _give_next(a, seeded, resident, order)
        a.tab.engine.sync_once()
        a.clock.set(LATER - timedelta(days=1))
        server_clock.set(a.clock.now())
        for resident, order in pairs[:2]:  # the day before LATER: the recent tail
            _give_next(a, seeded, resident, order)
        a.tab.engine.sync_once()
        server_clock.set(LATER)
        yield site, a, seeded
    finally:
        stop_site(site)


def _give_next(a: Cart, seeded: object, resident: object, order: object) -> None:
    slot = next_slot(a, order)  # type: ignore[arg-type]
    a.clock.set(slot)  # type: ignore[arg-type]
    a.give(seeded, order, resident, slot)  # type: ignore[arg-type]


def _tablet(site: Site, name: str, **engine: object) -> Tablet:
    tab = site.tablet(name, clock=FakeClock(LATER))
    tab.engine.close()
    tab.engine = SyncEngine(tab.store, clock=FakeClock(LATER), interval=3600, **engine)  # type: ignore[arg-type]
    return tab


def _admin_ids(tab: Tablet) -> set[str]:
    conn = tab.store.connect_reader()
    try:
        return {r[0] for r in conn.execute("SELECT entry_id FROM administrations")}
    finally:
        conn.close()


def _verify(tab: Tablet):  # type: ignore[no-untyped-def]
    conn = tab.store.connect_reader()
    try:
        return verify_store(conn, workers=1)
    finally:
        conn.close()


def test_new_tablet_is_usable_from_the_snapshot_then_backfills_to_the_same_ledger(
    world: tuple[Site, Cart, object],
) -> None:
    site, a, seeded = world
    b = _tablet(site, "cart-b", backfill_slice=0)
    report = b.engine.sync_once()
    assert report.snapshot > 0 and report.quarantined == 0
    started = b.engine.state.backfill()
    assert started is not None and started.status == history.BACKFILLING
    # usable: the residents, orders and recent doses are there; the old doses are not yet
    a_ids, b_ids = _admin_ids(a.tab), _admin_ids(b)
    assert len(a_ids) == 5 and len(b_ids) == 2 and b_ids < a_ids
    read_a, read_b = a.tab.store.reader(), b.store.reader()
    assert [r.resident_id for r in read_b.residents()] == [
        r.resident_id for r in read_a.residents()
    ]
    assert {s.order_id for s in read_b.orders([r.resident_id for r in read_b.residents()])} == {
        s.order_id for s in read_a.orders([r.resident_id for r in read_a.residents()])
    }
    principal = a.principal(seeded, "nurse")  # type: ignore[arg-type]
    due_a = MarService(Ports(a.tab.store.ledger, a.tab.store.reader, FakeClock(LATER)))
    due_b = MarService(Ports(b.store.ledger, b.store.reader, FakeClock(LATER)))
    assert due_b.due_now(principal) == due_a.due_now(principal)
    # verify says plainly that the chains are partial (every entry held still checks)
    partial = _verify(b)
    assert partial.ok and partial.partial is not None and "PARTIAL" in partial.summary()
    # a print over a window not backfilled yet is refused
    reports = ReportService(Ports(b.store.ledger, b.store.reader, FakeClock(LATER)))
    old_month = NOW
    with pytest.raises(HistoryNotHeld):
        reports.monthly_mar(principal, year=old_month.year, month=old_month.month)

    b.engine.backfill_slice = 30
    second = b.engine.sync_once()
    assert second.backfilled == 3
    done = b.engine.state.backfill()
    assert done is not None and done.status == history.COMPLETE
    assert _admin_ids(b) == a_ids
    a.tab.engine.sync_once()  # A pulls B's enrolment
    assert ledger_rows(b) == ledger_rows(a.tab)
    final = _verify(b)
    assert final.ok and final.partial is None, final.summary()
    assert b.engine.status.current.history_progress is None


def test_an_old_tablet_and_a_tablet_without_snapshots_read_the_whole_feed(
    world: tuple[Site, Cart, object],
) -> None:
    site, a, _ = world
    old = _tablet(site, "cart-old", snapshots=False)
    report = old.engine.sync_once()
    assert report.snapshot == 0 and report.pulled > 0
    assert old.engine.state.backfill() is None
    assert _admin_ids(old) == _admin_ids(a.tab)
    assert _verify(old).partial is None


def test_a_new_tablet_against_a_server_without_snapshots_reads_the_whole_feed(
    world: tuple[Site, Cart, object],
) -> None:
    site, a, _ = world
    app = site.server.server.config.app  # the running app: remove the snapshot routes
    routes = app.router.routes
    kept = [r for r in routes if getattr(r, "path", "") not in ("/v1/snapshot", "/v1/history")]
    routes[:] = kept
    b = _tablet(site, "cart-b")
    report = b.engine.sync_once()
    assert report.snapshot == 0 and report.pulled > 0
    assert b.engine.state.backfill() is None
    assert _admin_ids(b) == _admin_ids(a.tab)


def test_history_with_state_the_snapshot_left_out_raises_an_alert(
    world: tuple[Site, Cart, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, a, _ = world
    # a server whose snapshot leaves out the residents admitted (they are in the history)
    kinds_left = tuple(k for k in server_snapshot.STATE_KINDS if k != kinds.RESIDENT_ADMITTED)
    monkeypatch.setattr(server_snapshot, "STATE_KINDS", kinds_left)
    b = _tablet(site, "cart-b")
    b.engine.sync_once()
    done = b.engine.state.backfill()
    assert done is not None and done.status == history.MISMATCH
    assert "not in the snapshot" in (done.detail or "")
    # the state is right in the end (the entries are applied) and the server raised an alert
    assert len(b.store.reader().residents()) == len(a.tab.store.reader().residents())
    b.engine.sync_once()
    alerts = [v for v in b.store.reader().alerts() if v.alert_type == "snapshot_mismatch"]
    assert len(alerts) == 1
    assert _verify(b).partial is not None


def test_a_snapshot_not_signed_by_the_pinned_server_key_is_refused(
    world: tuple[Site, Cart, object],
) -> None:
    site, a, _ = world
    made = server_snapshot.build_snapshot(site.core, site.facility_id)
    info = a.tab.engine.state.server()
    assert info is not None
    _check_manifest(made.manifest, info, site.facility_id)  # the genuine one passes
    forged = made.manifest.model_copy(update={"tail_after": made.manifest.tail_after - 1})
    with pytest.raises(SyncError, match="signature"):
        _check_manifest(forged, info, site.facility_id)
    other = p.SnapshotManifest.model_validate(
        {**made.manifest.model_dump(), "facility_id": "another"}
    )
    with pytest.raises(SyncError):
        _check_manifest(other, info, site.facility_id)


def test_an_older_tablet_keeps_the_snapshot_mismatch_alert_unapplied(
    world: tuple[Site, Cart, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``alert.raised`` v2 (the ``snapshot_mismatch`` type) reaches a tablet of the release
    before it: stored and chain-verified, not applied, not quarantined, reported as newer."""
    site, _, _ = world
    older = _tablet(site, "cart-older", snapshots=False)
    older.engine.sync_once()
    kinds_left = tuple(k for k in server_snapshot.STATE_KINDS if k != kinds.RESIDENT_ADMITTED)
    monkeypatch.setattr(server_snapshot, "STATE_KINDS", kinds_left)
    b = _tablet(site, "cart-b")
    b.engine.sync_once()  # raises the alert through the server
    monkeypatch.undo()
    monkeypatch.setitem(kinds.BODY_TYPES, kinds.ALERT_RAISED, AlertRaisedV1)
    report = older.engine.sync_once()
    assert report.newer == 1 and report.quarantined == 0
    assert not [v for v in older.store.reader().alerts() if v.alert_type == "snapshot_mismatch"]
    assert _verify(older).ok


def test_alert_bodies_other_than_snapshot_mismatch_stay_version_1() -> None:
    alert = kinds.AlertRaised(alert_id="a", alert_type="double_dose")
    assert kinds.body_json(alert)["v"] == 1
    with pytest.raises(ValueError):
        kinds.AlertRaised(alert_id="a", alert_type="snapshot_mismatch")
    assert kinds.AlertRaised(v=2, alert_id="a", alert_type="snapshot_mismatch").v == 2


def _tampering(monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """Makes the server's history answers lie: ``edit`` changes one dose's amount in its
    signed bytes, ``drop`` leaves one dose out of the page (a gap in its device's chain)."""
    from sync.client import ServerClient

    honest = ServerClient.history

    def lying(self: ServerClient, before: int, limit: int) -> p.FeedPage:
        page = honest(self, before, limit)
        items = list(page.items)
        doses = [i for i, item in enumerate(items) if kinds.ADMINISTRATION_RECORDED in item.entry]
        if not doses:
            return page
        k = doses[0]
        if change == "drop":
            del items[k]
        else:
            text = items[k].entry
            assert '"dose_given":"' in text
            at = text.index('"dose_given":"') + len('"dose_given":"')
            items[k] = p.FeedItem(pos=items[k].pos, entry=text[:at] + "9" + text[at:])
        return page.model_copy(update={"items": items})

    monkeypatch.setattr(ServerClient, "history", lying)


@pytest.mark.parametrize("change", ["edit", "drop"])
def test_tampered_history_is_refused_and_reported_never_stored(
    world: tuple[Site, Cart, object], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    site, _, _ = world
    _tampering(monkeypatch, change)
    b = _tablet(site, "cart-b")
    b.engine.sync_once()
    done = b.engine.state.backfill()
    assert done is not None and done.status == history.MISMATCH, done
    # nothing of the lying page was stored: only the snapshot's recent doses are held
    assert len(_admin_ids(b)) == 2
    held = {row[2] for row in ledger_rows(b)}
    assert held <= {row[2] for row in server_rows(site)}  # every entry held is as it was signed
    check = _verify(b)
    assert check.ok and check.partial is not None  # what it holds verifies; it says partial
    monkeypatch.undo()
    b.engine.sync_once()  # the server heard of it and raised the alert every tablet sees
    alerts = [v for v in b.store.reader().alerts() if v.alert_type == "snapshot_mismatch"]
    assert len(alerts) == 1
