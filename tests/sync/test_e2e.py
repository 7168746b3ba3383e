"""End to end on a real server over real TLS 1.3: tablets recording offline, then syncing.

Runs on SQLite and on PostgreSQL (``store_url`` from the server suite).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from mar_desktop import kinds
from sync.server.app import alert_infos
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import (
    assert_verified,
    cart,
    ledger_rows,
    next_slot,
    own_rows,
    scheduled,
    seed,
    server_rows,
)


def test_two_tablets_offline_then_sync_hold_every_entry_once_and_alert_the_double_dose(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        a = cart(site, "cart-a", push_batch=50, page_size=40)
        seeded = seed(a)  # the facility's reference data is set up on cart A
        first = a.tab.engine.sync_once()
        assert first.pushed > 0 and a.tab.engine.pending() == 0

        b = cart(site, "cart-b", push_batch=50, page_size=40)
        boot = b.tab.engine.sync_once()  # a new tablet bootstraps from the feed
        assert boot.pulled > 0 and ledger_rows(b.tab) == server_rows(site)
        resident, order = scheduled(seeded)
        assert b.tab.store.reader().resident(resident.resident_id) is not None
        assert b.tab.store.reader().order(order.order_id) is not None

        # Offline on both carts: the same scheduled dose is given twice.
        slot = next_slot(a, order)
        for c in (a, b):
            c.clock.set(slot)  # type: ignore[arg-type]
        dose_a = a.give(seeded, order, resident, slot)
        dose_b = b.give(seeded, order, resident, slot)
        assert a.tab.engine.pending() > 0 and b.tab.engine.pending() > 0

        a.tab.engine.sync_once()
        b.tab.engine.sync_once()
        a.tab.engine.sync_once()

        # The server alerted once, naming both records; both records stay everywhere.
        doubles = [x for x in alert_infos(site.core, site.facility_id)
                   if x.alert_type == "double_dose"]
        assert len(doubles) == 1
        for c in (a, b):
            alerts = [x for x in c.tab.store.reader().alerts() if x.alert_type == "double_dose"]
            assert len(alerts) == 1
            assert set(alerts[0].related_entry_ids) == {dose_a.id, dose_b.id}
            assert c.tab.store.reader().administration(dose_a.id) is not None
            assert c.tab.store.reader().administration(dose_b.id) is not None
            assert c.tab.engine.pending() == 0
            assert c.tab.engine.status.current.online
            assert c.tab.engine.status.current.alerts >= 1

        # Every tablet and the server hold every ledger entry exactly once.
        server = server_rows(site)
        assert len(server) == len(set(server))
        assert ledger_rows(a.tab) == server == ledger_rows(b.tab)
        # Each tablet's audit chain reached the server whole.
        for c in (a, b):
            device = c.tab.store.device_id
            assert own_rows(site, device, "audit") == [
                r for r in ledger_rows(c.tab, "audit") if r[0] == device
            ]
        assert_verified(site, [a.tab, b.tab])
        # The alert is itself a signed entry of the server device, pulled like any other.
        held = a.tab.store.ledger.entry(a.tab.store.reader().alerts()[0].entry_id)
        assert held is not None and held.kind == kinds.ALERT_RAISED
    finally:
        stop_site(site)


def test_quiet_sync_moves_nothing_and_adds_no_audit(tmp_path: Path, site: object) -> None:
    from tests.sync.conftest import Site

    assert isinstance(site, Site)
    tab = site.tablet("quiet")
    tab.engine.sync_once()
    again = tab.engine.sync_once()
    assert not again.moved
    assert tab.engine.pending() == 0


@pytest.mark.parametrize("batch", [1])
def test_small_batches_push_in_order(batch: int, site: object) -> None:
    from tests.sync.conftest import Site

    assert isinstance(site, Site)
    c = cart(site, "tiny", push_batch=batch, page_size=3)
    seed(c, residents_per_unit=1)  # syncs once before seeding (the facility comes first)
    device = c.tab.store.device_id
    held_before = len(own_rows(site, device, "ledger")) + len(own_rows(site, device, "audit"))
    report = c.tab.engine.sync_once()
    assert report.pushed == len(own_rows(site, device, "ledger")) + len(
        own_rows(site, device, "audit")
    ) - held_before - 1  # the audit.synced entry of this sync is pushed after the report was made
    assert own_rows(site, device, "ledger") == [r for r in ledger_rows(c.tab) if r[0] == device]
