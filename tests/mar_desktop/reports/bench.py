"""Report benchmarks (docs/architecture.md#performance-budgets): shift MAR sheet and monthly MAR for
60 residents, each timed from the data queries (ReportService on a real encrypted store) to the
finished PDF.

``bench_reports()`` returns :class:`tests.bench.table.Figure` rows for ``make bench``. Setup
(not timed): the demo facility with 60 residents on the first unit, orders from 2026-01-31, and
every scheduled dose of February 2026 recorded (given, a few refused) straight into the ledger.
"""

from __future__ import annotations

import io
import secrets
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mar_desktop import kinds
from mar_desktop.clinical.schedule import expand_schedule
from mar_desktop.clock import FakeClock
from mar_desktop.demo.seed import seed_demo
from mar_desktop.envelope import EntryDraft, new_id
from mar_desktop.model import Outcome
from mar_desktop.permissions import Principal
from mar_desktop.reports.gather import ReportService
from mar_desktop.reports.monthly import render_monthly_mar
from mar_desktop.reports.shift_sheet import render_shift_sheet
from mar_desktop.services.base import Ports
from storage.local_store import LocalStore
from tests.bench.table import Figure
from tests.facility import append_user

RESIDENTS = 60
START = datetime(2026, 2, 1, 6, 0, tzinfo=UTC)
END = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def _setup(folder: Path) -> tuple[LocalStore, Ports, Principal, str]:
    clock = FakeClock(START)
    store = LocalStore.create(folder / "data", secrets.token_bytes(32), new_id(), clock)
    ports = Ports(store.ledger, store.reader, clock)
    seeded = seed_demo(
        ports,
        device_id=store.device_id,
        facility_id=store.facility_id,
        create_user=lambda p, m: append_user(ports, p, m),
        days=0,
        residents_per_unit=RESIDENTS,
        real_clock=FakeClock(START),
    )
    unit_id = seeded.demo.units[0].unit_id
    nurse = next(s for s in seeded.staff if s.user.username == "nurse").user
    zone = seeded.demo.facility.zone
    read = store.reader()
    residents = read.residents([unit_id])
    drafts: list[EntryDraft] = []
    for state in read.orders([r.resident_id for r in residents]):
        order = state.order
        for index, slot in enumerate(expand_schedule(state, START, END, zone)):
            outcome = Outcome.REFUSED if index % 29 == 7 else Outcome.GIVEN
            body = kinds.AdministrationRecorded(
                resident_id=order.resident_id,
                order_id=order.order_id,
                scheduled_for=slot,
                administered_at=slot + timedelta(minutes=6),
                outcome=outcome,
                reason_code="R" if outcome == Outcome.REFUSED else None,
                dose_given=order.dose if outcome == Outcome.GIVEN else None,
                dose_unit=order.dose_unit,
                route=order.route,
            )
            drafts.append(
                EntryDraft(
                    kinds.ADMINISTRATION_RECORDED,
                    Principal(nurse, store.device_id).actor,
                    kinds.body_json(body),
                )
            )
    for start in range(0, len(drafts), 1000):
        store.ledger.append(drafts[start : start + 1000])
    clock.set(END + timedelta(hours=8))
    admin = next(s for s in seeded.staff if s.user.username == "admin").user
    return store, ports, Principal(admin, store.device_id), unit_id


def _best(action: object, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return min(samples) if runs > 2 else statistics.median(samples)


def bench_reports(runs: int = 5) -> list[Figure]:
    with tempfile.TemporaryDirectory() as folder:
        store, ports, admin, unit_id = _setup(Path(folder))
        try:
            service = ReportService(ports)

            def shift() -> None:
                data = service.shift_sheet(
                    admin, unit_id=unit_id, day=date(2026, 2, 16), shift="day"
                )
                render_shift_sheet(data, io.BytesIO())

            def monthly() -> None:
                data = service.monthly_mar(admin, year=2026, month=2, unit_id=unit_id)
                render_monthly_mar(data, io.BytesIO())

            shift()
            shift_s = _best(shift, runs)
            monthly_s = _best(monthly, max(1, runs // 2))
        finally:
            store.close()
    return [
        Figure(
            f"shift MAR sheet, {RESIDENTS} residents (queries + PDF)",
            shift_s * 1000,
            "ms",
            "<= 500 ms",
            shift_s <= 0.5,
        ),
        Figure(
            f"monthly MAR, {RESIDENTS} residents (queries + PDF)",
            monthly_s * 1000,
            "ms",
            "<= 3000 ms",
            monthly_s <= 3.0,
        ),
    ]


run = bench_reports

if __name__ == "__main__":
    from tests.bench.table import render

    print(render(bench_reports()))
