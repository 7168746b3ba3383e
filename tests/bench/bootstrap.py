"""Budget: a new tablet bootstraps a year of a 60-resident facility's history until usable in
<= 60 s (docs/architecture.md#performance-budgets, issue 4). The measurement lives with the
sync tests (``tests/sync/bench.py``); this is its ``make bench`` suite."""

from __future__ import annotations

from tests.bench.table import Figure


def run() -> list[Figure]:
    from tests.sync.bench import bench_bootstrap

    return bench_bootstrap()
