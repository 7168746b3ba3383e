"""Budgets: shift MAR sheet for 60 residents ≤ 0.5 s and monthly MAR for 60 residents ≤ 3 s,
data queries included (the reports' own benchmark)."""

from __future__ import annotations

from tests.bench.table import Figure
from tests.mar_desktop.reports.bench import bench_reports


def run() -> list[Figure]:
    return bench_reports()
