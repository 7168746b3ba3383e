"""``make bench``: every budget of docs/architecture.md#performance-budgets beside its measured
figure and same-run baseline."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from tests.bench.table import Figure, render

SUITES = [
    "record", "login", "due_now_core", "dueview", "reports", "push", "push_haproxy", "startup",
    "gui_lag", "med_pass",
    "bootstrap", "seven_years", "memory",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("suites", nargs="*", default=SUITES, help=f"subset of {SUITES}")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    for name in args.suites:
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"tests.bench.{name}")
        figures.extend(module.run())
        print(f"  {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(render(figures))
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
