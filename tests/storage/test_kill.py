"""Killing a recording process at random moments loses no entry whose append had returned,
and the store verifies after every kill (docs/architecture.md#at-rest: WAL, synchronous=FULL)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from mar_desktop.clock import FakeClock
from storage.database import connect, database_path
from storage.local_store import LocalStore
from storage.verify import verify_store
from tests import factories as f

KILLS = 200
REPO = Path(__file__).resolve().parents[2]


def _read_until(pipe: IO[str], marker: str, seen: set[str]) -> str:
    """Reads lines, collecting printed entry ids, until one starting with ``marker``."""
    while True:
        line = pipe.readline()
        if not line:
            raise AssertionError("kill helper exited unexpectedly")
        kind, *rest = line.split()
        if kind == marker:
            return line
        seen.update(rest)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, db_key: bytes) -> None:
    data = tmp_path / "data"
    setup = LocalStore.create(data, db_key, "fac-1", FakeClock())
    drafts, _ = f.small_facility(2)
    setup.ledger.append(drafts)
    setup.close()

    helper = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("kill_child.py")), str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert helper.stdin is not None
    assert helper.stdout is not None
    rng = random.Random(20260105)
    printed: set[str] = set()
    killed_mid_run = 0
    try:
        helper.stdin.write(db_key.hex() + "\n")
        for _ in range(KILLS):
            before = len(printed)
            helper.stdin.write("fork\n")
            helper.stdin.flush()
            pid = int(_read_until(helper.stdout, "PID", printed).split()[1])
            if rng.random() < 0.8:  # mostly while recording: after its first append returned
                printed.update(_read_until(helper.stdout, "ID", printed).split()[1:])
                time.sleep(rng.uniform(0.0, 0.02))
            else:  # sometimes while it opens the database or records its first entries
                time.sleep(rng.uniform(0.0, 0.1))
            os.kill(pid, signal.SIGKILL)
            helper.stdin.write("reap\n")
            helper.stdin.flush()
            _read_until(helper.stdout, "REAPED", printed)
            killed_mid_run += len(printed) > before
            _check(data, db_key, printed)
    finally:
        helper.kill()
        helper.wait()
    assert killed_mid_run >= KILLS // 2, "most kills should land while recording"


def _check(data: Path, key: bytes, printed: set[str]) -> None:
    conn = connect(database_path(data), key)
    try:
        conn.execute("BEGIN")  # one snapshot: the next recorder is already writing
        stored = {
            r[0] for r in conn.execute("SELECT id FROM ledger UNION ALL SELECT id FROM audit")
        }
        missing = printed - stored
        assert not missing, f"{len(missing)} acknowledged entries lost"
        report = verify_store(conn)
        assert report.ok, report.summary()
        ledger_ids = {r[0] for r in conn.execute("SELECT id FROM ledger")}
        projected = {r[0] for r in conn.execute("SELECT entry_id FROM administrations")}
        administrations = {
            r[0]
            for r in conn.execute("SELECT id FROM ledger WHERE kind = 'administration.recorded'")
        }
        assert projected == administrations
        assert administrations <= ledger_ids
        conn.execute("COMMIT")
    finally:
        conn.close()
