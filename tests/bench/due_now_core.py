"""The pure part of the due-now view: ``clinical.schedule.due_now`` for a 60-resident unit with
8 orders each and the last 8 hours of records, no storage. Budget: median ≤ 5 ms (the whole
due-now view, storage included, has 30 ms; docs/architecture.md#performance-budgets).
Run: ``python -m tests.bench due_now_core``.
"""

from __future__ import annotations

import random
from datetime import timedelta

from mar_desktop.clinical.schedule import due_now, expand_schedule
from mar_desktop.model import Outcome
from tests.bench.table import Figure, median, p99, timed_ms
from tests.mar_desktop.clinical.factories import (
    every,
    facility,
    fixed,
    order,
    prn,
    record,
    state,
    utc,
)

RUNS = 300
BUDGET_MS = 5.0


def run() -> list[Figure]:
    rng = random.Random(1)
    fac = facility()
    schedules = [
        fixed("08:00"),
        fixed("08:00", "20:00"),
        fixed("09:00", "13:00", "17:00", "21:00"),
        fixed("08:00", days=(0, 3)),
        fixed("21:00"),
        every(4),
        every(6),
        every(8, "06:00"),
        prn(),
    ]
    states = [
        state(
            order(
                rng.choice(schedules),
                order_id=f"o{r}-{k}",
                resident_id=f"r{r}",
                start=utc(2023, 6, 1),
                time_critical=rng.random() < 0.05,
            )
        )
        for r in range(60)
        for k in range(8)
    ]
    now = utc(2024, 6, 3, 13, 17)
    records = [
        record(moment, Outcome.GIVEN, order_id=s.order.order_id)
        for s in states
        for moment in expand_schedule(s, now - timedelta(hours=8), now, fac.zone)
        if rng.random() < 0.7
    ]
    samples = timed_ms(lambda: due_now(states, records, now, fac, upcoming_within_minutes=60), RUNS)
    value = median(samples)
    return [
        Figure(
            name="due_now core, 60 residents x 8 orders",
            value=value,
            unit="ms",
            budget=f"median <= {BUDGET_MS:g} ms",
            ok=value <= BUDGET_MS,
            baseline=f"p99 {p99(samples):.2f} ms, min {min(samples):.2f} ms",
        )
    ]
