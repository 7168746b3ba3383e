"""Budgets on a tablet that has held seven years of a 60-resident-per-unit facility (an old
tablet: tablets never delete ledger rows): record one administration (median <= 2 ms), due-now
for a unit (<= 30 ms) and opening a resident's MAR (<= 100 ms), as on a year
(docs/benchmarks.md). The history is ``tests/bench/year.py``'s, ``MAR_BENCH_DAYS_LONG`` days
(default 2555), run only when cached or ``MAR_BENCH_BUILD_LONG=1`` (see ``bootstrap.py``).
Recording writes, so it runs on a copy of the cached database, made first (not timed).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from mar_desktop.clinical.schedule import expand_schedule
from mar_desktop.clock import FakeClock
from mar_desktop.demo.history import scan_string
from mar_desktop.model import Outcome
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.mar import MarService
from mar_desktop.services.recording import AdministrationRequest, RecordingService
from tests.bench.table import Figure, median, p99, timed_ms
from tests.bench.year import CACHE, VERSION, year_db

LONG_DAYS = int(os.environ.get("MAR_BENCH_DAYS_LONG", "2555"))
RUNS = 200


def run() -> list[Figure]:
    cached = (CACHE / f"year-v{VERSION}-60-{LONG_DAYS}" / "meta.json").exists()
    if not cached and os.environ.get("MAR_BENCH_BUILD_LONG") != "1":
        return [Figure(f"tablet holding {LONG_DAYS} days: record, due-now, MAR", 0.0, "ms",
                       "within today's", True, "not run: history not cached")]
    year = year_db(days=LONG_DAYS)
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(year.data_dir, copy)
        clock = FakeClock(year.now)
        store = type(year)(copy, year.key, year.unit_id, year.now, year.server_key,
                           year.server_device_id).open(clock)
        try:
            ports = Ports(store.ledger, store.reader, clock)
            read = store.reader()
            total = read_total(store)
            nurse_user = next(u for u in read.users() if u.username == "nurse")
            nurse = Principal(user=nurse_user, device_id=store.device_id)
            mar = MarService(ports)
            due = timed_ms(lambda: mar.due_now(nurse, year.unit_id), 40)
            residents = read.residents([year.unit_id])
            opened = timed_ms(lambda: mar.resident_mar(nurse, residents[7].resident_id), 30)
            record = _records(ports, clock, nurse)
        finally:
            store.close()
    label = f"{LONG_DAYS / 365:.0f} years, {total:,} entries"
    return [
        Figure(f"record administration, durable, {label} (median)", median(record), "ms",
               "<= 2 ms", median(record) <= 2.0, f"p99 {p99(record):.2f} ms, {len(record)} doses"),
        Figure(f"due-now, 60-resident unit, {label} (median)", median(due), "ms", "<= 30 ms",
               median(due) <= 30, f"p99 {p99(due):.1f} ms"),
        Figure(f"open a resident's MAR, {label} (median)", median(opened), "ms", "<= 100 ms",
               median(opened) <= 100, f"p99 {p99(opened):.1f} ms"),
    ]


def read_total(store: object) -> int:
    conn = store.connect_reader()  # type: ignore[attr-defined]
    try:
        return int(conn.execute("SELECT (SELECT count(*) FROM ledger) + "
                                "(SELECT count(*) FROM audit)").fetchone()[0])
    finally:
        conn.close()


def _records(ports: Ports, clock: FakeClock, nurse: Principal) -> list[float]:
    """``RUNS`` scanned doses of the coming days, each timed alone (clock 2 min past its slot)."""
    read = ports.reader()
    facility = read.facility()
    assert facility is not None
    residents = {r.resident_id: r for r in read.residents()}
    states = [s for s in read.orders(list(residents))
              if not s.order.is_prn and not s.order.hold_parameters and not s.order.needs_witness]
    start = clock.now() + timedelta(hours=1)
    end = start + timedelta(days=2)
    pairs = sorted(((slot, s) for s in states
                    for slot in expand_schedule(s, start, end, facility.zone)),
                   key=lambda pair: (pair[0], pair[1].order_id))[:RUNS]
    service = RecordingService(ports)
    samples: list[float] = []
    for slot, state in pairs:
        clock.set(slot + timedelta(minutes=2))
        resident = residents[state.order.resident_id]
        request = AdministrationRequest(
            resident_id=resident.resident_id, order_id=state.order.order_id,
            outcome=Outcome.GIVEN, scheduled_for=slot, wristband_scan=resident.wristband_id,
            medication_scan=scan_string(state.order), allergy_acknowledged=True)
        samples.extend(timed_ms(lambda r=request: service.record_administration(nurse, r), 1))
    return samples
