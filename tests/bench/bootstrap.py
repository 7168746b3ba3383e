"""Budget: a new tablet is usable for the med pass in <= 10 s with a year and with seven
years of a 60-resident-per-unit facility's history; the history backfill's rate and its GUI
stall are reported apart (docs/architecture.md#performance-budgets, issue 20). The measurement
lives with the sync tests (``tests/sync/bench.py``); this is its ``make bench`` suite.

Seven years (``MAR_BENCH_DAYS_LONG``, default 2555 days) run only when that history is cached
in ``.bench-cache/`` or ``MAR_BENCH_BUILD_LONG=1`` asks to build it (about 15 minutes and 6 GB
on these machines; ``python -m tests.sync.bench 2555`` does the same alone).
"""

from __future__ import annotations

import os

from tests.bench.table import Figure

LONG_DAYS = int(os.environ.get("MAR_BENCH_DAYS_LONG", "2555"))


def run() -> list[Figure]:
    from tests.bench.year import CACHE, VERSION
    from tests.sync.bench import bench_bootstrap

    figures = bench_bootstrap(days=365)
    cached = (CACHE / f"year-v{VERSION}-60-{LONG_DAYS}" / "meta.json").exists()
    if cached or os.environ.get("MAR_BENCH_BUILD_LONG") == "1":
        figures += bench_bootstrap(days=LONG_DAYS)
    else:
        figures.append(
            Figure(f"new tablet usable, {LONG_DAYS} days", 0.0, "s", "<= 10 s", True,
                   "not run: history not cached (MAR_BENCH_BUILD_LONG=1 builds it)")
        )
    return figures
