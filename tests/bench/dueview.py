"""Budgets on a year of history: due-now for a 60-resident unit (≤ 30 ms), opening one
resident's MAR (≤ 100 ms), and full ledger verification (≥ 12,000 entries/s, both cores)."""

from __future__ import annotations

import os
import time

from mar_desktop.clock import FakeClock
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.mar import MarService
from storage.verify import verify_store
from tests.bench.table import Figure, median, p99, timed_ms
from tests.bench.year import year_db


def run() -> list[Figure]:
    year = year_db()
    clock = FakeClock(year.now)
    store = year.open(clock)
    try:
        ports = Ports(store.ledger, store.reader, clock)
        read = store.reader()
        nurse = next(u for u in read.users() if u.username == "nurse")
        principal = Principal(user=nurse, device_id=store.device_id)
        mar = MarService(ports)
        doses = mar.due_now(principal, year.unit_id)
        due = timed_ms(lambda: mar.due_now(principal, year.unit_id), 40)
        residents = read.residents([year.unit_id])
        opened = timed_ms(lambda: mar.resident_mar(principal, residents[7].resident_id), 30)
        conn = store.connect_reader()
        try:
            total = conn.execute("SELECT (SELECT count(*) FROM ledger) + "
                                 "(SELECT count(*) FROM audit)").fetchone()[0]
            single_start = time.perf_counter()
            single = verify_store(conn, workers=1)
            single_s = time.perf_counter() - single_start
            both_start = time.perf_counter()
            report = verify_store(conn, workers=os.cpu_count() or 2)
            both_s = time.perf_counter() - both_start
        finally:
            conn.close()
    finally:
        store.close()
    rate = total / both_s
    return [
        Figure(f"due-now, 60-resident unit, {total:,} entries (median; {len(doses)} doses)",
               median(due), "ms", "<= 30 ms", median(due) <= 30, f"p99 {p99(due):.1f} ms"),
        Figure("open a resident's MAR, year of history (median)", median(opened), "ms",
               "<= 100 ms", median(opened) <= 100, f"p99 {p99(opened):.1f} ms"),
        Figure(f"verify ledger + audit ({'OK' if report.ok and single.ok else 'FAILED'})",
               rate, "entries/s", ">= 12,000/s", rate >= 12_000 and report.ok,
               f"1 process: {total / single_s:,.0f}/s"),
    ]
