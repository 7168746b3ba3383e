"""Building a large widget tree in small steps, one per event-loop turn.

Constructing a screen under the application stylesheet costs 5-100 ms of GUI-thread time
(Qt resolves the stylesheet for every widget it reparents). Done in one go, the work area's
screens froze the window for 300-500 ms right after it appeared. :class:`StagedBuild` runs
each step from a zero-interval timer instead, so input and paint events are handled between
steps and no single freeze is longer than the slowest step.

GUI thread only. The build is owned by its parent QObject; ``stop()`` (or the parent's
destruction) cancels the remaining steps.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

Step = Callable[[], "Iterable[Step] | None"]


class StagedBuild(QObject):
    """Runs ``steps`` in order, one per event-loop turn; emits ``finished`` after the last.

    A step may return further steps (e.g. a screen's own :meth:`take_build_steps`); they run
    next, before the steps that were already queued, each in its own turn.

    A step that raises stops the build: the remaining steps are dropped and ``failed`` is
    emitted with a message fit for the user (the exception's type only is logged: no PHI).
    """

    finished = Signal()
    failed = Signal(str)

    def __init__(self, steps: Iterable[Step], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._steps: deque[Step] = deque(steps)
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_next)
        self.done = False

    def start(self) -> None:
        """Schedules the first step; returns at once."""
        if not self.done:
            self._timer.start()

    def stop(self) -> None:
        """Drops the steps not yet run. Idempotent."""
        self._timer.stop()
        self._steps.clear()

    def _run_next(self) -> None:
        if not self._steps:
            self._finish()
            return
        step = self._steps.popleft()
        try:
            more = step()
        except Exception as exc:  # a bug in a screen's constructor: tell the user, stop
            log.exception("building the work area failed (%s)", type(exc).__name__)
            self.stop()
            self.failed.emit("The app could not finish opening its screens. Restart it; "
                             "if this happens again, call your administrator.")
            return
        if more:
            self._steps.extendleft(reversed(list(more)))
        if not self._steps:
            self._finish()

    def _finish(self) -> None:
        self._timer.stop()
        if not self.done:
            self.done = True
            self.finished.emit()
