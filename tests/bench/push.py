"""Budget: push 10,000 queued entries over TLS 1.3 loopback, the server verifying and
committing durably: ≥ 5,000 entries/s on SQLite and on PostgreSQL, beside a same-run baseline
of bare HTTPS round trips (the server's own benchmark, ``sync.server.bench``)."""

from __future__ import annotations

import os

from sync.server.bench import bench_push
from tests.bench.table import Figure

PG_DSN = os.environ.get("MAR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def run() -> list[Figure]:
    figures = []
    for label, url in (("SQLite", None), ("PostgreSQL", PG_DSN)):
        result = bench_push(url, n=10_000, batch=1000)
        rate = float(result["entries_per_s"])
        figures.append(Figure(
            f"push 10,000 entries, {label} ({result['tls']}, verify {result['verify']})",
            rate, "entries/s", ">= 5,000/s", rate >= 5000,
            f"{result['https_round_trips_per_s']} bare HTTPS round trips/s"))
    return figures
