"""The one background-task runner of the app.

Widgets never start threads: they call :meth:`TaskRunner.submit` with a function to run off the
GUI thread and callbacks to run back on it. Work runs on ONE owned worker thread (database work
is serial, so a check-then-record sequence is never interleaved with another write); results,
failures and progress come back through queued Qt signals, so callbacks always run on the GUI
thread and background code never touches a widget. :meth:`shutdown` stops the thread; the
composition root calls it on quit.

Creating the runner shortens the interpreter's thread switch interval to 1 ms (default 5 ms):
while the worker runs Python (rules, rendering), the GUI thread gets the interpreter back
within a millisecond instead of up to five per hand-off, which kept event-loop stalls over the
50 ms responsiveness limit in the bedside flows.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
# What it returns is ignored (ErrorPresenter.show returns the text it showed).
FailureHandler = Callable[[BaseException], object]


@dataclass
class _Pending:
    on_success: Callable[[Any], None] | None
    on_failure: FailureHandler | None
    on_progress: Callable[[float, str], None] | None


class TaskHandle:
    """Lets the submitter ask a running task to stop (the task checks ``cancelled``)."""

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


class TaskRunner(QObject):
    """Runs callables on a single worker thread; reports back on the GUI thread."""

    _finished = Signal(int, object)
    _failed = Signal(int, object)
    _progressed = Signal(int, float, str)
    busy_changed = Signal(bool)

    SWITCH_INTERVAL_S = 0.001

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        sys.setswitchinterval(min(sys.getswitchinterval(), self.SWITCH_INTERVAL_S))
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="mar-worker"
        )
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0
        self._finished.connect(self._deliver_success)
        self._failed.connect(self._deliver_failure)
        self._progressed.connect(self._deliver_progress)
        self.default_failure: FailureHandler | None = None

    def submit(
        self,
        work: Callable[..., Any],
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: FailureHandler | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        with_progress: bool = False,
    ) -> TaskHandle:
        """Queues ``work`` (called with ``progress`` and ``handle`` keywords when
        ``with_progress``). Call on the GUI thread. Failures without ``on_failure`` go to
        ``default_failure`` (the app's one error-dialog place)."""
        if self._executor is None:
            raise RuntimeError("task runner is shut down")
        self._next_id += 1
        task_id = self._next_id
        handle = TaskHandle(task_id)
        self._pending[task_id] = _Pending(on_success, on_failure, on_progress)
        if len(self._pending) == 1:
            self.busy_changed.emit(True)

        def progress(fraction: float, text: str) -> None:
            self._progressed.emit(task_id, fraction, text)

        def run() -> Any:
            if with_progress:
                return work(progress=progress, handle=handle)
            return work()

        future = self._executor.submit(run)
        future.add_done_callback(lambda done: self._done(task_id, done))
        return handle

    def _done(self, task_id: int, future: Future[Any]) -> None:
        # Worker thread: only emit signals here.
        error = future.exception()
        if error is None:
            self._finished.emit(task_id, future.result())
        else:
            self._failed.emit(task_id, error)

    def _take(self, task_id: int) -> _Pending | None:
        pending = self._pending.pop(task_id, None)
        if not self._pending:
            self.busy_changed.emit(False)
        return pending

    @Slot(int, object)
    def _deliver_success(self, task_id: int, result: object) -> None:
        pending = self._take(task_id)
        if pending is not None and pending.on_success is not None:
            pending.on_success(result)

    @Slot(int, object)
    def _deliver_failure(self, task_id: int, error: object) -> None:
        pending = self._take(task_id)
        assert isinstance(error, BaseException)
        handler = (pending.on_failure if pending else None) or self.default_failure
        if handler is not None:
            handler(error)
        else:
            log.error("background task failed: %s", type(error).__name__)

    @Slot(int, float, str)
    def _deliver_progress(self, task_id: int, fraction: float, text: str) -> None:
        pending = self._pending.get(task_id)
        if pending is not None and pending.on_progress is not None:
            pending.on_progress(fraction, text)

    def run_on_worker(self, work: Callable[[], Any]) -> Any:
        """Runs ``work`` on the worker thread and waits for it. For shutdown paths and tests
        only — never from a GUI event handler."""
        if self._executor is None:
            raise RuntimeError("task runner is shut down")
        return self._executor.submit(work).result()

    @property
    def idle(self) -> bool:
        return not self._pending

    def shutdown(self) -> None:
        """Waits for the running task, drops queued ones and stops the worker thread."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
