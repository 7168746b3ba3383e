"""Measuring how long the GUI thread was blocked (used by UI tests and the debug overlay).

The issue's rule is that sync and database work never block the GUI thread for more than
50 ms. Python's cyclic garbage collector also stops every thread while it runs (a full
collection over a long-lived process can take 50-200 ms); that pause is neither sync nor
database work, so :class:`EventLoopLagMonitor` subtracts the collector's time from each stall
and reports it separately (``worst_gc_ms``). :func:`settle_long_lived_objects` is what the app
does to keep those pauses short.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer


class _CollectorClock:
    """Total seconds the garbage collector has run in this process (all threads)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self.total += time.perf_counter() - self._started
            self._started = 0.0


_COLLECTOR = _CollectorClock()


def settle_long_lived_objects() -> None:
    """Moves every object alive now (modules, Qt wrappers, schemas, the open store's caches)
    out of the collector's view (``gc.freeze``), so later collections only walk what the
    session creates and stay short. Called by the composition root after start-up and after
    the work area is built; cheap to call again.

    Only the youngest generation is collected first: a full collection here walked ~130,000
    objects on the GUI thread for 100-140 ms to find about 30 garbage ones; freezing those few
    costs a few kilobytes for the life of the process."""
    gc.collect(0)
    gc.freeze()


class EventLoopLagMonitor(QObject):
    """Ticks every ``interval_ms`` on the GUI thread and keeps the worst delay seen.

    ``worst_ms`` is the longest time the event loop could not run the timer beyond its interval,
    minus the time the garbage collector held the interpreter in that gap: how long the GUI was
    frozen by the app's own work. ``worst_gc_ms`` is the longest collector pause seen. Owned by
    its parent; ``stop()`` ends it.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = 5) -> None:
        super().__init__(parent)
        self._interval = interval_ms / 1000
        self._last = time.perf_counter()
        self._last_gc = _COLLECTOR.total
        self.worst_ms = 0.0
        self.worst_gc_ms = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._last_gc = _COLLECTOR.total
        self.worst_ms = 0.0
        self.worst_gc_ms = 0.0
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        collector = _COLLECTOR.total - self._last_gc
        late = (now - self._last - self._interval - collector) * 1000
        self.worst_ms = max(self.worst_ms, late)
        self.worst_gc_ms = max(self.worst_gc_ms, collector * 1000)
        self._last = now
        self._last_gc = _COLLECTOR.total
