"""Connects the in-memory :class:`SessionManager` to the GUI.

* Re-emits session events as a Qt signal. Observers may be called on any thread (the worker
  starts sessions); ``AutoConnection`` makes GUI-thread events arrive at once (a lock hides PHI
  in the same call) and worker-thread ones queued onto the GUI thread.
* Owns the ``tick`` timer (1 s) that notices inactivity, and an application-wide event filter
  that counts mouse, touch and key input as activity (``touch``).

Owned by the main window; ``stop()`` stops the timer and unsubscribes.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from mar_desktop.errors import SessionExpired
from mar_desktop.people.sessions import SessionEvent, SessionManager, SessionState

_ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.TouchBegin,
    QEvent.Type.Wheel,
}


class SessionBridge(QObject):
    # Not ``event``: that would shadow QObject.event(), which Qt calls to deliver every event.
    session_event = Signal(object)  # SessionEvent

    def __init__(self, sessions: SessionManager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sessions = sessions
        self._unsubscribe = sessions.subscribe(self.session_event.emit)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def start(self) -> None:
        self._timer.start()

    def tick(self) -> None:
        self._sessions.tick()

    def stop(self) -> None:
        self._timer.stop()
        self._unsubscribe()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and self._sessions.state is SessionState.ACTIVE:
            with contextlib.suppress(SessionExpired):  # locked in between: event on its way
                self._sessions.touch()
        return False


def is_lock_event(event: SessionEvent) -> bool:
    return event.kind.value in {"locked", "reauth_required", "ended"}
