"""Shift assignment across tablets and the server, over real TLS 1.3: set on one cart, it
reaches the other by sync and narrows the CNA's lists there (and a resident outside it needs a
reason there too); an older tablet keeps the new kind unapplied ("recorded by a newer
version"), quarantines nothing and keeps syncing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.demo.seed import SeedResult
from mar_desktop.services.assignment import AssignmentService
from mar_desktop.services.mar import MarService
from mar_desktop.shift_assignment import OutsideAssignment
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import Cart, cart, next_slot, plain_orders, seed


def _cna_unit(seeded: SeedResult) -> str:
    cna = next(s.user for s in seeded.staff if s.user.username == "cna")
    return cna.unit_ids[0]


def _rooms(seeded: SeedResult, unit_id: str) -> list[str]:
    return sorted(r.room for r in seeded.demo.residents if r.unit_id == unit_id)


def _overview_rooms(c: Cart, seeded: SeedResult) -> list[str]:
    mar = MarService(c.ports)
    return sorted(s.resident.room for s in mar.unit_overview(c.principal(seeded, "cna")))


def test_an_assignment_set_on_one_cart_narrows_the_cna_on_the_other_after_sync(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        a = cart(site, "cart-a")
        seeded = seed(a)
        a.tab.engine.sync_once()
        b = cart(site, "cart-b")
        b.tab.engine.sync_once()
        unit = _cna_unit(seeded)
        rooms = _rooms(seeded, unit)
        assert _overview_rooms(b, seeded) == rooms and len(rooms) >= 2

        mar_a = MarService(a.ports)
        AssignmentService(a.ports, mar_a.assignment_scope).assign(
            a.principal(seeded, "nurse"), a.principal(seeded, "cna").user.user_id, unit,
            rooms=[rooms[0]],
        )
        report = a.tab.engine.sync_once()
        assert report.quarantined == 0
        b.tab.engine.sync_once()

        assert _overview_rooms(b, seeded) == [rooms[0]]
        mar_b = MarService(b.ports)
        cna_b = b.principal(seeded, "cna")
        assert {i.resident.room for i in mar_b.pass_list(cna_b).items} <= {rooms[0]}
        outside = next(r for r in seeded.demo.residents
                       if r.unit_id == unit and r.room != rooms[0])
        with pytest.raises(OutsideAssignment):
            mar_b.resident_mar(cna_b, outside.resident_id)
        assignments_b = AssignmentService(b.ports, mar_b.assignment_scope)
        view = assignments_b.mine(cna_b)
        assert view is not None and view.text.endswith("(set by Marisol Ortega)")
        assignments_b.open_outside(cna_b, outside.resident_id, "covering a break")
        assert mar_b.resident_mar(cna_b, outside.resident_id).resident == outside
    finally:
        stop_site(site)


def test_an_older_tablet_keeps_the_assignment_unapplied_and_keeps_syncing(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The previous release's model has no ``shift.assigned``: the older tablet stores and
    chain-verifies the entry, reports it as from a newer version, applies everything after it,
    and its CNA sees her whole unit there (no assignment is known on that tablet)."""
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        newer = cart(site, "newer")
        seeded = seed(newer)
        newer.tab.engine.sync_once()
        older = cart(site, "older", snapshots=False)
        with monkeypatch.context() as old:
            old.delitem(kinds.BODY_TYPES, kinds.SHIFT_ASSIGNED)
            older.tab.engine.sync_once()
        unit = _cna_unit(seeded)
        rooms = _rooms(seeded, unit)
        mar = MarService(newer.ports)
        AssignmentService(newer.ports, mar.assignment_scope).assign(
            newer.principal(seeded, "nurse"), newer.principal(seeded, "cna").user.user_id, unit,
            rooms=[rooms[0]],
        )
        assert _overview_rooms(newer, seeded) == [rooms[0]]
        # A dose recorded after it on the same chain must still be applied on the older tablet.
        [(resident, order)] = plain_orders(seeded, 1)
        slot = next_slot(newer, order)
        newer.clock.set(slot)  # type: ignore[arg-type]
        dose = newer.give(seeded, order, resident, slot)
        newer.tab.engine.sync_once()
        with monkeypatch.context() as old:
            old.delitem(kinds.BODY_TYPES, kinds.SHIFT_ASSIGNED)
            report = older.tab.engine.sync_once()
            assert report.quarantined == 0 and report.newer == 1
            assert _overview_rooms(older, seeded) == rooms
            conn = older.tab.store.connect_reader()
            try:
                held = conn.execute("SELECT count(*) FROM ledger WHERE kind = ?",
                                    (kinds.SHIFT_ASSIGNED,)).fetchone()[0]
                applied = conn.execute("SELECT count(*) FROM shift_assignments").fetchone()[0]
            finally:
                conn.close()
            assert (held, applied) == (1, 0)  # stored and verified, not applied
            assert older.tab.store.reader().administration(dose.id) is not None
            # The older tablet goes on recording and syncing.
            older.tab.engine.sync_once()
    finally:
        stop_site(site)


def test_a_new_tablet_starts_with_the_assignment_in_force_and_backfills_the_old_ones(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    """Assignments are history in a snapshot (``sync.protocol.HISTORY_KINDS``): one still in
    force is recorded within a shift of it, so it lies in the snapshot's recent tail; the old
    ones arrive by backfill, without a snapshot mismatch, and change nothing."""
    from mar_desktop.clock import FakeClock
    from sync import protocol as p
    from sync.engine import SyncEngine
    from sync.server import snapshot as server_snapshot
    from tests.facility import NOW

    assert kinds.SHIFT_ASSIGNED in p.HISTORY_KINDS
    assert kinds.SHIFT_ASSIGNED not in server_snapshot.STATE_KINDS
    server_clock = FakeClock(NOW)
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca, server_clock)
    try:
        a = cart(site, "cart-a")
        seeded = seed(a)
        unit = _cna_unit(seeded)
        rooms = _rooms(seeded, unit)
        cna_id = a.principal(seeded, "cna").user.user_id

        def assign(room: str) -> None:
            mar = MarService(a.ports)
            AssignmentService(a.ports, mar.assignment_scope).assign(
                a.principal(seeded, "nurse"), cna_id, unit, rooms=[room])

        assign(rooms[1])  # a month ago
        a.tab.engine.sync_once()
        later = NOW + timedelta(days=30)
        a.clock.set(later)
        server_clock.set(later)
        assign(rooms[0])  # this shift
        a.tab.engine.sync_once()

        b = site.tablet("cart-b", clock=FakeClock(later))
        b.engine.close()
        b.engine = SyncEngine(b.store, clock=FakeClock(later), interval=3600,
                              backfill_slice=0)
        first = b.engine.sync_once()
        assert first.snapshot > 0 and first.quarantined == 0
        b_cart = Cart(b, FakeClock(later))

        def held_rooms() -> list[list[str]]:
            conn = b.store.connect_reader()
            try:
                rows = conn.execute("SELECT rooms_json FROM shift_assignments").fetchall()
            finally:
                conn.close()
            return sorted(json.loads(r[0]) for r in rows)

        assert held_rooms() == [[rooms[0]]]  # the old one is not in the snapshot
        assert _overview_rooms(b_cart, seeded) == [rooms[0]]
        b.engine.backfill_slice = 30
        b.engine.sync_once()
        b.engine.sync_once()
        assert held_rooms() == sorted([[rooms[0]], [rooms[1]]])
        assert _overview_rooms(b_cart, seeded) == [rooms[0]]
        assert [x.alert_type for x in b.store.reader().alerts()] == []
    finally:
        stop_site(site)
