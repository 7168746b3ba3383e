"""Exactly-once effect whatever the network does: two tablets push 500+ small batches through
a proxy that drops, delays, resets and truncates; the server ends with exactly their entries,
once each, in order, and verify passes on both sides."""

from __future__ import annotations

import httpx

from mar_desktop import audit
from mar_desktop.envelope import SYSTEM_ACTOR
from mar_desktop.errors import SyncError
from sync.client import ServerClient
from sync.engine import SyncEngine
from tests.sync.conftest import Site, Tablet
from tests.sync.faultproxy import FaultProxy
from tests.sync.world import assert_verified, cart, ledger_rows, own_rows, seed, server_rows

BATCH = 2


def _audit_entries(tab: Tablet, n: int) -> None:
    for start in range(0, n, 50):
        tab.store.ledger.append(
            [
                audit.audit_draft(audit.RESIDENT_VIEWED, actor=SYSTEM_ACTOR, user_name="system",
                                  entity_type="resident", entity_id=f"r{start + i}")
                for i in range(min(50, n - start))
            ]
        )


def _through(proxy: FaultProxy, tab: Tablet) -> SyncEngine:
    return SyncEngine(
        tab.store,
        client_maker=lambda i: ServerClient(
            proxy.url, ca_pem=i.ca_pem, timeout=httpx.Timeout(2.0, connect=2.0)
        ),
        push_batch=BATCH,
        page_size=7,
    )


def _sync_until_done(engine: SyncEngine, attempts: int = 400) -> int:
    failures = 0
    for _ in range(attempts):
        try:
            engine.sync_once()
        except SyncError:
            failures += 1
            continue
        if engine.pending() == 0:
            return failures
    raise AssertionError("sync did not complete through the faulty network")


def test_faulty_network_gives_exactly_once_in_order(site: Site) -> None:
    a = cart(site, "a")
    seed(a, residents_per_unit=1)
    b = cart(site, "b")
    _audit_entries(a.tab, 520)
    _audit_entries(b.tab, 520)
    device_rows = {
        t.store.device_id: (ledger_rows(t), ledger_rows(t, "audit")) for t in (a.tab, b.tab)
    }
    total = sum(len(x) + len(y) for x, y in device_rows.values())
    assert total // BATCH >= 500  # at least 500 push batches
    proxy = FaultProxy(("127.0.0.1", site.server.port), seed=7)
    engines = [_through(proxy, a.tab), _through(proxy, b.tab)]
    try:
        failures = 0
        for _ in range(3):  # interleave the tablets, then let both finish
            for engine in engines:
                failures += _sync_until_done(engine)
        for tab in (a.tab, b.tab, a.tab):
            tab.engine.sync_once()  # a final pass on the direct link: pull what the other sent
    finally:
        for engine in engines:
            engine.close()
        proxy.close()
    counts = proxy.counts
    assert failures > 0
    assert counts["reset_response"] and counts["truncate_response"] and counts["drop_request"]
    for tab in (a.tab, b.tab):
        device = tab.store.device_id
        for chain in ("ledger", "audit"):
            mine = [r for r in ledger_rows(tab, chain) if r[0] == device]
            held = own_rows(site, device, chain)
            assert held == mine  # every entry once, by seq, identical digests
            assert [r[1] for r in held] == list(range(1, len(held) + 1))
    server = server_rows(site)
    assert len(server) == len(set(server))
    assert ledger_rows(a.tab) == server == ledger_rows(b.tab)
    assert_verified(site, [a.tab, b.tab])
