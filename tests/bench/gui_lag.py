"""Budget: the GUI thread is never blocked for more than 50 ms in the bedside flows (issue 5).

Runs the UI flows (``tests/ui``, offscreen, alone) with ``MAR_GUI_LAG_FILE`` set; each flow
records its worst event-loop stall with collector pauses excluded (:mod:`ui.lag`). The tests
themselves assert that no database or network work ever runs on the GUI thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench.table import Figure


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as folder:
        record = Path(folder) / "lag.jsonl"
        env = {**os.environ, "MAR_GUI_LAG_FILE": str(record), "QT_QPA_PLATFORM": "offscreen"}
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "tests/ui"],
                       env=env, check=False, capture_output=True)
        rows = [json.loads(line) for line in record.read_text().splitlines()]
    worst = max(rows, key=lambda r: r["worst_ms"])
    over = sum(1 for r in rows if r["worst_ms"] > 50)
    gc_worst = max(r["worst_gc_ms"] for r in rows)
    name = worst["flow"].split("::")[-1]
    return [Figure(f"GUI thread stall, {len(rows)} UI flows (worst: {name})", worst["worst_ms"],
                   "ms", "<= 50 ms", worst["worst_ms"] <= 50,
                   f"{over} flows over; collector pause up to {gc_worst:.0f} ms excluded")]
