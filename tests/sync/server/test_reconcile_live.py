"""The post-receipt reconciliation queue: one worker per facility, nothing lost, reads wait."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any, cast

from sync.server.reconcile_live import LiveReconciliation
from sync.server.reconciliation import Reconciler


class _FakeReconciler:
    """Counts catch-ups and how many run at once; each takes a little while."""

    def __init__(self, built: bool = True) -> None:
        self.is_built = built
        self.calls = 0
        self.active = 0
        self.most_active = 0
        self.lock = threading.Lock()

    def catch_up_waiting(self, facility_id: str) -> int:
        with self.lock:
            self.calls += 1
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        time.sleep(0.005)
        with self.lock:
            self.active -= 1
        return 0

    def built(self, facility_id: str) -> bool:
        return self.is_built

    def behind(self, facility_id: str) -> bool:
        return False  # no other process writes to this fake's feed

    def note_received(self, facility_id: str, received_at: datetime | None) -> None:
        pass

    def remember_checked(self, doses: object) -> None:
        pass


def _live(fake: _FakeReconciler) -> LiveReconciliation:
    return LiveReconciliation(cast(Reconciler, fake))


def test_a_burst_of_pushes_uses_one_worker_and_loses_no_request() -> None:
    fake = _FakeReconciler()
    live = _live(fake)
    start = threading.Barrier(20)

    def push() -> None:
        start.wait()
        for _ in range(5):
            live.run("fac", live.begin("fac", None))

    threads = [threading.Thread(target=push) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.most_active == 1  # never more than one catch-up (one parked thread) at a time
    assert 1 <= fake.calls <= 100
    state = cast(Any, live)
    assert state._done["fac"] == state._issued["fac"] == 100  # every push was covered
    assert not state._running and not state._again
    calls = fake.calls
    live.settle("fac")  # nothing pending: no extra work
    assert fake.calls == calls


def test_settle_catches_up_itself_when_the_background_run_has_not_happened() -> None:
    fake = _FakeReconciler()
    live = _live(fake)
    live.begin("fac", None)
    live.settle("fac")
    assert fake.calls == 1
    live.settle("fac")
    assert fake.calls == 1


def test_settle_does_not_wait_while_the_index_is_first_built() -> None:
    fake = _FakeReconciler(built=False)
    live = _live(fake)
    live.begin("fac", None)
    live.settle("fac")
    assert fake.calls == 0
