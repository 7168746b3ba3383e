"""Benchmark: a new tablet on a year (or seven) of a 60-resident-per-unit facility until
usable for the med pass, then its history backfill.

``bench_bootstrap()`` loads the cached year database (``tests/bench/year.py``), registers its
facility and devices on a fresh SQLite server whose key is the year's server key (direct store
writes: the year was recorded by a tablet that was never enrolled), takes back the server's own
``facility.configured`` entry (the relay path), stores the tablet's chain through the push checks,
builds the server's reconciliation index (a long-running server holds it already; its one-off
rebuild after a restart is reported apart), then enrols a NEW tablet over TLS 1.3 loopback and
times its first sync (the server's signed snapshot, the recent feed, signature and chain checks,
projections) until the read model answers with the residents and the unit's due-now list.
Budget (docs/architecture.md#performance-budgets, issue 20): <= 10 s at any facility age. Then
the history backfill is timed (rate) with a probe of what a GUI thread in the same process
would feel (worst wake-up delay; budget 50 ms). Returns
:class:`tests.bench.table.Figure` rows (``tests/bench/bootstrap.py`` is the ``make bench``
suite). Not a test; ``python -m tests.sync.bench`` prints the table.
"""

from __future__ import annotations

import gc
import secrets
import tempfile
import threading
import time
from pathlib import Path

import trustme

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
from tests.bench.table import Figure, p99

BUDGET_S = 10.0
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


class StallProbe:
    """What a GUI thread would feel while backfill runs in the same process: a thread that
    asks to wake every 5 ms and records how late it woke (it needs the GIL, as the GUI thread
    does; the GUI thread itself never touches the database or the network). As the UI's lag
    monitor does (``ui/lag.py``), the garbage collector's pauses are taken out of each delay
    and reported apart; the app freezes its long-lived objects after start-up
    (``gc.freeze``), and so does the probe before it starts."""

    def __init__(self, period: float = 0.005) -> None:
        self._period = period
        self._stop = threading.Event()
        self.late_ms: list[float] = []
        self.worst_gc_ms = 0.0
        self._gc_total = 0.0
        self._gc_started = 0.0
        self._thread = threading.Thread(target=self._run, name="bench-stall-probe", daemon=True)

    def _collector(self, phase: str, _info: dict[str, object]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            pause = time.perf_counter() - self._gc_started
            self._gc_total += pause
            self.worst_gc_ms = max(self.worst_gc_ms, pause * 1000)
            self._gc_started = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            asked, collected = time.perf_counter(), self._gc_total
            time.sleep(self._period)
            late = time.perf_counter() - asked - self._period - (self._gc_total - collected)
            self.late_ms.append(max(0.0, late) * 1000)

    def __enter__(self) -> StallProbe:
        gc.collect(0)
        gc.freeze()
        gc.callbacks.append(self._collector)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        gc.callbacks.remove(self._collector)


def bench_bootstrap(
    residents_per_unit: int = 60, days: int = 365, *, backfill: bool = True
) -> list[Figure]:
    """A new tablet on a facility of ``days`` days: usable (snapshot + recent feed, signed in
    to its read model: residents, due-now) and then its history backfilled in the background
    (rate, and the stall a GUI thread would feel meanwhile)."""
    from mar_desktop.clock import FakeClock
    from mar_desktop.permissions import Principal
    from mar_desktop.services.base import Ports
    from mar_desktop.services.mar import MarService
    from tests.bench.year import year_db

    year = year_db(residents_per_unit, days)  # built first if not cached
    label = f"{days / 365:.0f} year{'s' if days > 365 else ''}"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = trustme.CA()
        cert = tmp / "cert.pem"
        ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(cert))
        store = config.open_store(str(tmp / "server.sqlite3"))
        store.migrate()
        clock = FakeClock(year.now)  # the facility's "now": its history ends here
        core = ServerCore(store, DeviceSigner.from_private_bytes(year.server_key), clock)
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
                clock=clock,
            )
            engine = SyncEngine(tablet, clock=clock, page_size=PAGE, backfill_slice=0)
            report = engine.sync_once()
            read = tablet.reader()
            usable = read.residents()
            nurse = next(u for u in read.users() if u.username == "nurse")
            mar = MarService(Ports(tablet.ledger, tablet.reader, clock))
            due = mar.due_now(Principal(user=nurse, device_id=tablet.device_id), year.unit_id)
            boot_s = time.perf_counter() - t1
            backfilled, backfill_s, late, gc_worst = 0, 0.0, [0.0], 0.0
            if backfill:
                engine.backfill_slice = 24 * 3600.0
                with StallProbe() as probe:
                    t2 = time.perf_counter()
                    backfilled = engine.sync_once().backfilled
                    backfill_s = time.perf_counter() - t2
                late = probe.late_ms or [0.0]
                gc_worst = probe.worst_gc_ms
            state = engine.state.backfill()
            engine.close()
            tablet.close()
        finally:
            server.stop()
            store.close()
    ok = boot_s <= BUDGET_S and report.quarantined == 0 and len(usable) >= residents_per_unit
    held = report.snapshot + report.pulled
    figures = [
        Figure(
            f"new tablet usable for the pass, {label} of {residents_per_unit} residents/unit",
            boot_s,
            "s",
            f"<= {BUDGET_S:.0f} s",
            ok,
            f"{report.snapshot:,} snapshot + {report.pulled:,} recent entries of {loaded:,}; "
            f"{len(usable)} residents, {len(due)} doses due now",
        ),
    ]
    if backfill:
        done = state is not None and state.status == "complete"
        stall = max(late)
        figures += [
            Figure(
                f"  history backfill in the background, {label} (window "
                f"{'complete' if done else 'NOT complete'})",
                backfilled / backfill_s if backfill_s else 0.0,
                "entries/s",
                "(reported)",
                done,
                f"{backfilled:,} entries in {backfill_s:.1f} s; {held + backfilled:,} held",
            ),
            Figure(
                f"  GUI-thread stall during backfill, {label} (worst wake-up delay)",
                stall,
                "ms",
                "<= 50 ms",
                stall <= 50,
                f"p99 {p99(late):.1f} ms over {len(late):,} 5-ms wake-ups; collector pause "
                f"up to {gc_worst:.0f} ms excluded",
            ),
        ]
    figures += [
        Figure(
            f"  server: store {label} through push checks",
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
    return figures


if __name__ == "__main__":
    import sys

    from tests.bench.table import render

    print(render(bench_bootstrap(days=int(sys.argv[1]) if len(sys.argv) > 1 else 365)))
