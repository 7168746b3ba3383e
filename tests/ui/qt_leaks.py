"""Which of the QTimers and QThreads a test started are still active after it (the check behind
``no_qt_timer_or_thread_left`` in ``tests/ui/conftest.py``)."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QThread, QTimer


def qt_left_running(timers: list[QTimer], threads: list[QThread]) -> list[str]:
    """One line per timer still active and thread still running; deleted objects are skipped."""
    left = [f"timer {timer.objectName() or timer.interval()}" for timer in timers
            if shiboken6.isValid(timer) and timer.isActive()]
    left += [f"thread {thread.objectName() or type(thread).__name__}" for thread in threads
             if shiboken6.isValid(thread) and thread.isRunning()]
    return left
