"""Budget: record one administration durably (validate, sign, ledger + audit + projections,
commit): median ≤ 2 ms and ≤ 3× a bare single-row SQLCipher insert+commit in the same run."""

from __future__ import annotations

import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from mar_desktop.clinical.schedule import expand_schedule
from mar_desktop.demo.history import scan_string
from mar_desktop.model import Outcome
from mar_desktop.services.recording import AdministrationRequest, RecordingService
from storage.database import connect
from tests.bench.table import Figure, median, p99, timed_ms
from tests.integration.conftest import make_world

RUNS = 400


def bare_commit_ms(folder: Path, runs: int = RUNS) -> list[float]:
    conn = connect(folder / "bare.db", secrets.token_bytes(32), create=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    payload = b"x" * 700

    def one() -> None:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (v) VALUES (?)", (payload,))
        conn.execute("COMMIT")

    try:
        return timed_ms(one, runs)
    finally:
        conn.close()


def record_ms(folder: Path, runs: int = RUNS) -> list[float]:
    world = make_world(folder, residents_per_unit=20)
    try:
        read = world.ports.reader()
        facility = read.facility()
        assert facility is not None
        residents = {r.resident_id: r for r in read.residents()}
        states = [
            s
            for s in read.orders(list(residents))
            if not s.order.is_prn and not s.order.hold_parameters and not s.order.needs_witness
        ]
        start = world.clock.now() + timedelta(hours=1)
        window_end = start + timedelta(days=3)
        pairs = [
            (slot, state)
            for state in states
            for slot in expand_schedule(state, start, window_end, facility.zone)
        ]
        pairs.sort(key=lambda pair: (pair[0], pair[1].order_id))
        slots = pairs[:runs]
        service = RecordingService(world.ports)
        nurse = world.principal("nurse")
        samples: list[float] = []
        for slot, state in slots:
            world.clock.set(slot + timedelta(minutes=2))
            resident = residents[state.order.resident_id]
            request = AdministrationRequest(
                resident_id=resident.resident_id,
                order_id=state.order.order_id,
                outcome=Outcome.GIVEN,
                scheduled_for=slot,
                wristband_scan=resident.wristband_id,
                medication_scan=scan_string(state.order),
                allergy_acknowledged=True,
            )
            samples.extend(timed_ms(lambda r=request: service.record_administration(nurse, r), 1))
        return samples
    finally:
        world.store.close()


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        folder = Path(tmp)
        bare = bare_commit_ms(folder)
        record = record_ms(folder)
    bare_median = median(bare)
    rec_median = median(record)
    ratio = rec_median / bare_median
    return [
        Figure("bare SQLCipher insert+commit (median)", bare_median, "ms", "reference", True),
        Figure(
            "record administration, durable (median)",
            rec_median,
            "ms",
            "<= 2 ms",
            rec_median <= 2.0,
            f"{ratio:.1f}x bare (<= 3x: {'ok' if ratio <= 3 else 'OVER'})",
        ),
        Figure(
            "record administration, durable (p99)",
            p99(record),
            "ms",
            "-",
            True,
            f"bare p99 {p99(bare):.2f} ms",
        ),
    ]
