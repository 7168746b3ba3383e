"""The Qt leak check reports an active timer or a running thread, and nothing once stopped."""

from __future__ import annotations

from PySide6.QtCore import QThread, QTimer
from PySide6.QtWidgets import QApplication

from tests.ui.qt_leaks import qt_left_running


def test_an_active_timer_and_a_running_thread_are_reported_until_stopped(
    qapp: QApplication,
) -> None:
    timer = QTimer()
    timer.setObjectName("poll")
    timer.start(60_000)
    thread = QThread()
    thread.setObjectName("worker")
    thread.start()
    try:
        assert qt_left_running([timer], [thread]) == ["timer poll", "thread worker"]
    finally:
        timer.stop()
        thread.quit()
        thread.wait()
    assert qt_left_running([timer], [thread]) == []
