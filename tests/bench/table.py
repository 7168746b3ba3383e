"""Collecting benchmark figures and printing them beside their budgets."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    budget: str
    ok: bool
    baseline: str = ""


def timed_ms(action: Callable[[], object], runs: int) -> list[float]:
    """Wall times of ``runs`` calls of ``action`` in milliseconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples



def alternating_ms(
    actions: Iterable[Callable[[], object]], bare: Callable[[], object], block: int
) -> tuple[list[float], list[float]]:
    """(one sample per action, bare samples): a block of ``block`` bare calls before every
    ``block`` actions, so both see the same minutes of disk and CPU noise while each is still
    timed in its own steady state. ``actions`` may be lazy: each is made just before its turn."""
    samples: list[float] = []
    bare_samples: list[float] = []
    for index, action in enumerate(actions):
        if index % block == 0:
            bare_samples.extend(timed_ms(bare, block))
        samples.extend(timed_ms(action, 1))
    return samples, bare_samples

def median(samples: list[float]) -> float:
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def render(figures: list[Figure]) -> str:
    rows = [("benchmark", "measured", "budget", "same-run baseline", "")]
    for fig in figures:
        rows.append(
            (
                fig.name,
                f"{fig.value:,.2f} {fig.unit}",
                fig.budget,
                fig.baseline,
                "ok" if fig.ok else "OVER BUDGET",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
