"""The restore drill (issue 7), with the real tablet sync engine over real TLS 1.3.

Entries synced → backup → more entries synced → the server's database destroyed → restore →
the server restarted on the same address → tablets sync again: their cursor check at the start
of each sync re-sends what the restored server lost, so the server holds every entry exactly
once and ``verify`` passes — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import trustme
import uvicorn

from mar_desktop.clock import FakeClock
from mar_desktop.model import Order, Resident
from sync.server import backup, cli, config
from sync.server import backup_crypto as bc
from sync.server.app import alert_infos, create_app
from sync.server.core import ServerCore
from sync.server.runner import ThreadServer, tls13_context, uvicorn_config
from tests.facility import NOW
from tests.sync.conftest import Site, ca, cert_files, start_site, stop_site
from tests.sync.server.conftest import PG_DSN
from tests.sync.world import (
    Cart,
    assert_verified,
    cart,
    ledger_rows,
    next_slot,
    seed,
    server_rows,
)

__all__ = ["ca", "cert_files"]


def plain_orders(seeded: object, n: int) -> list[tuple[Resident, Order]]:
    demo = seeded.demo  # type: ignore[attr-defined]
    out = []
    for order in demo.orders:
        if order.is_prn or order.controlled_schedule or order.hold_parameters:
            continue
        if order.site_required:
            continue
        resident = next(r for r in demo.residents if r.resident_id == order.resident_id)
        out.append((resident, order))
    assert len(out) >= n
    return out[:n]


def give(
    c: Cart, seeded: object, pair: tuple[Resident, Order], clock: FakeClock, carts: list[Cart]
) -> None:
    """One dose at its slot; every clock (carts and server) moves there together, so no
    clock-skew alert is raised."""
    resident, order = pair
    slot = next_slot(c, order)
    for other in carts:
        other.clock.set(slot)  # type: ignore[arg-type]
    clock.set(slot)  # type: ignore[arg-type]
    c.give(seeded, order, resident, slot)  # type: ignore[arg-type]


def all_server_rows(site: Site) -> list[tuple[str, int, str]]:
    return server_rows(site, "ledger") + server_rows(site, "audit")


def destroy(store_url: str) -> None:
    if store_url.startswith("postgresql"):
        schema = store_url.rsplit("search_path%3D", 1)[1]
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_url}{suffix}").unlink(missing_ok=True)


def restart(site: Site, clock: FakeClock, cert: Path) -> None:
    """A new server process-equivalent on the SAME address (the tablets know its URL)."""
    store = config.open_store(site.db_url)
    store.migrate()
    core = ServerCore(store, config.load_server_key(site.data), clock)
    port = site.server.port
    server = uvicorn.Server(
        uvicorn_config(
            create_app(core), ssl_context=tls13_context(cert, cert), host="127.0.0.1", port=port
        )
    )
    thread = threading.Thread(target=server.run, name="mar-server-restored", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "restored server did not start"
        time.sleep(0.01)
    site.core, site.server = core, ThreadServer(server, thread, "127.0.0.1", port, True)


def test_restore_drill_every_entry_once_and_verify_passes(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    clock = FakeClock(NOW)
    site = start_site(tmp_path, store_url, cert_files, ca, clock=clock)
    key_file = tmp_path / "backup.key"
    bc.generate_key_file(key_file)
    try:
        a = cart(site, "cart-a", push_batch=40, page_size=40)
        seeded = seed(a)
        a.tab.engine.sync_once()
        b = cart(site, "cart-b", push_batch=40, page_size=40)
        b.tab.engine.sync_once()
        doses = plain_orders(seeded, 3)
        give(a, seeded, doses[0], clock, [a, b])
        a.tab.engine.sync_once()
        b.tab.engine.sync_once()

        # 1. backup while the server is running
        made = backup.create_backup(
            store_url, site.data, tmp_path / "backups", bc.load_key(key_file)
        )
        at_backup = all_server_rows(site)

        # 2. more entries synced after the backup, from both carts
        give(a, seeded, doses[1], clock, [a, b])
        give(b, seeded, doses[2], clock, [a, b])
        for c in (a, b, a):
            c.tab.engine.sync_once()
        before_loss = all_server_rows(site)
        # the drill keeps server-made entries (alerts) out of the lost window: see the docs
        assert not alert_infos(site.core, site.facility_id)
        assert len(before_loss) > len(at_backup)

        # 3. the server's database is destroyed
        site.server.stop()
        site.core.store.close()
        destroy(store_url)

        # 4. restore from the backup (CLI, as an operator would) and restart
        args = ["--data", str(site.data), "--db", store_url, "restore", "--from", str(made.path)]
        assert cli.main([*args, "--key-file", str(key_file)]) == 0
        restart(site, clock, cert_files)
        assert all_server_rows(site) == at_backup  # what the backup held, nothing more

        # 5. the tablets sync again: the cursor check re-sends what the server lost
        first_a = a.tab.engine.sync_once()
        first_b = b.tab.engine.sync_once()
        assert first_a.pushed > 0 and first_b.pushed > 0
        for c in (a, b):
            c.tab.engine.sync_once()
            assert c.tab.engine.pending() == 0

        now_held = all_server_rows(site)
        assert set(before_loss) <= set(now_held)  # every lost entry is back
        ids = [e.entry_id for chain in ("ledger", "audit") for e in _feed(site, chain)]
        assert len(ids) == len(set(ids))  # ... and held exactly once
        assert ledger_rows(a.tab) == ledger_rows(b.tab) == server_rows(site, "ledger")
        assert_verified(site, [a.tab, b.tab])
        assert cli.main(["--data", str(site.data), "--db", store_url, "verify"]) == 0
    finally:
        stop_site(site)


def _feed(site: Site, chain: str) -> list:  # type: ignore[type-arg]
    out, after = [], 0
    while True:
        page = site.core.store.feed(site.facility_id, chain, after, 1000)  # type: ignore[arg-type]
        out.extend(page)
        if len(page) < 1000:
            return out
        after = page[-1].pos
