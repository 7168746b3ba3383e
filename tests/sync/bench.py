"""Benchmark: a new tablet bootstrapping a year of a 60-resident facility until usable.

``bench_bootstrap()`` loads the cached year database (``tests/bench/year.py``), registers its
facility and devices on a fresh SQLite server whose key is the year's server key (direct store
writes: the year was recorded by a tablet that was never enrolled), takes back the server's own
``facility.configured`` entry (the relay path), stores the tablet's chain through the push checks,
builds the server's reconciliation index (a long-running server holds it already; its one-off
rebuild after a restart is reported apart), then enrols a NEW tablet over TLS 1.3 loopback and
times its first sync (pull of the whole feed, signature and chain checks, projections) until the
read model answers. Budget (docs/architecture.md#performance-budgets, issue 4): <= 60 s. Returns
:class:`tests.bench.table.Figure` rows (``tests/bench/bootstrap.py`` is the ``make bench``
suite). Not a test; ``python -m tests.sync.bench`` prints the table.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from pathlib import Path

import trustme

from mar_desktop.clock import SystemClock
from mar_desktop.signing import DeviceSigner
from sync.engine import SyncEngine
from sync.enroll import enroll
from sync.server import config
from sync.server.app import create_app
from sync.server.checker import Verifier
from sync.server.core import ServerCore
from sync.server.ingest import push
from sync.server.runner import start_thread_server, tls13_context
from sync.server.store import DeviceRecord, Store
from tests.bench.table import Figure

BUDGET_S = 60.0
PAGE = 1000


def _load_year(
    store: Store, core: ServerCore, residents_per_unit: int, days: int
) -> tuple[str, int]:
    """The year's ledger chain stored on the server; returns (facility id, entries)."""
    from sync.server.relay import relay
    from tests.bench.year import year_db

    year = year_db(residents_per_unit, days)
    source = year.open()
    facility_id, device_id = source.facility_id, source.device_id
    now = core.now()
    with store.write() as txn:
        txn.add_facility(facility_id, "Year facility", now)
        txn.add_device(
            DeviceRecord(
                year.server_device_id, facility_id, core.public_key, "mar-server", True, now
            )
        )
        txn.add_device(
            DeviceRecord(
                device_id, facility_id, source.ledger.public_key_hex, "year cart", False, now
            )
        )
    device = store.get_device(device_id)
    assert device is not None
    conn = source.connect_reader()
    server_rows = conn.execute(
        "SELECT raw FROM ledger WHERE device_id = ? ORDER BY seq", (year.server_device_id,)
    ).fetchall()
    relay(core, facility_id, [bytes(r[0]) for r in server_rows])  # its facility.configured
    verifier = Verifier("threads", 2)
    loaded = after = 0
    try:
        while True:
            rows = conn.execute(
                "SELECT seq, raw FROM ledger WHERE device_id = ? AND seq > ? "
                "ORDER BY seq LIMIT 2000",
                (device_id, after),
            ).fetchall()
            if not rows:
                break
            push(core, verifier, device, [bytes(r[1]) for r in rows])
            after = int(rows[-1][0])
            loaded += len(rows)
    finally:
        conn.close()
        source.close()
    return facility_id, loaded


def _reconciler_idle() -> bool:
    return not any(t.name == "mar-reconcile" for t in threading.enumerate())


def bench_bootstrap(residents_per_unit: int = 60, days: int = 365) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = trustme.CA()
        cert = tmp / "cert.pem"
        ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(cert))
        store = config.open_store(str(tmp / "server.sqlite3"))
        store.migrate()
        from tests.bench.year import year_db

        server_key = year_db(residents_per_unit, days).server_key  # built first if not cached
        core = ServerCore(store, DeviceSigner.from_private_bytes(server_key), SystemClock())
        t0 = time.perf_counter()
        facility_id, loaded = _load_year(store, core, residents_per_unit, days)
        load_s = time.perf_counter() - t0
        app = create_app(core)
        t0 = time.perf_counter()
        app.state.reconciler.after_push(facility_id)  # the rebuild, on its own thread
        while not _reconciler_idle():
            time.sleep(0.05)
        index_s = time.perf_counter() - t0
        server = start_thread_server(app, ssl_context=tls13_context(cert, cert))
        try:
            code = core.make_enrol_code(facility_id)
            t1 = time.perf_counter()
            tablet = enroll(
                tmp / "new",
                secrets.token_bytes(32),
                server_url=server.url,
                code=code,
                ca_pem=ca.cert_pem.bytes().decode(),
            )
            engine = SyncEngine(tablet, page_size=PAGE)
            report = engine.sync_once()
            usable = tablet.reader().residents()
            boot_s = time.perf_counter() - t1
            engine.close()
            tablet.close()
        finally:
            server.stop()
            store.close()
    ok = boot_s <= BUDGET_S and report.quarantined == 0 and len(usable) >= residents_per_unit
    return [
        Figure(
            f"new tablet bootstrap, a year of {residents_per_unit} residents/unit",
            boot_s,
            "s",
            f"<= {BUDGET_S:.0f} s",
            ok,
            f"{report.pulled:,} entries pulled ({report.pulled / boot_s:,.0f}/s), "
            f"{len(usable)} residents usable",
        ),
        Figure(
            "  server: store the year through push checks",
            load_s,
            "s",
            "(setup)",
            True,
            f"{loaded:,} entries ({loaded / load_s:,.0f}/s)",
        ),
        Figure(
            "  server: reconciliation index rebuild after a restart",
            index_s,
            "s",
            "(off the request path)",
            True,
            "",
        ),
    ]


if __name__ == "__main__":
    from tests.bench.table import render

    print(render(bench_bootstrap()))
