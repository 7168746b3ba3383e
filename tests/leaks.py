"""What a test left running: the checks behind the autouse fixtures in ``tests/conftest.py``
(threads) and ``tests/ui/conftest.py`` (QTimers and QThreads)."""

from __future__ import annotations

import threading
import time

GRACE_S = 5.0  # a thread told to stop by a fixture's teardown may take a moment
# Idle workers a library keeps for reuse and ends by itself: AnyIO's thread pool (FastAPI's sync
# endpoints under schemathesis's in-process transport) keeps each worker 10 s after its loop.
LIBRARY_POOL_THREADS = frozenset({"AnyIO worker thread"})


def running_thread_ids() -> set[int | None]:
    """The idents of the threads running now."""
    return {thread.ident for thread in threading.enumerate()}


def threads_started_since(
    before: set[int | None], grace_s: float = GRACE_S
) -> list[threading.Thread]:
    """The Python threads running now that were not in ``before``, after waiting up to
    ``grace_s`` for them to end. Threads Python only knows as foreign (``_DummyThread``, e.g. a
    QThread that ran Python code) and library pool workers are not counted."""
    deadline = time.monotonic() + grace_s
    while True:
        left = [thread for thread in threading.enumerate()
                if thread.ident not in before and thread.is_alive()
                and thread.name not in LIBRARY_POOL_THREADS
                and not isinstance(thread, threading._DummyThread)]
        if not left or time.monotonic() >= deadline:
            return left
        left[0].join(0.05)
