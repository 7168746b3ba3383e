"""What the UI shows about sync: a frozen :class:`SyncStatus` and a :class:`StatusBoard`.

Thread contract: the board may be updated from the engine's thread and read or subscribed to
from any thread. Callbacks run on the thread that made the change (usually the engine's sync
thread), with no lock held; the UI marshals to its GUI thread itself. A callback that raises is
logged and skipped; it never stops sync. Nothing here holds PHI.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

log = logging.getLogger(__name__)

State = Literal[
    "not_enrolled",
    "idle",
    "syncing",
    "online",
    "offline",
    "refused",
    "revoked",
    "fork",
    "stopped",
]


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """A snapshot of sync for the status bar.

    ``online``: the last attempt reached the server. ``pending``: this tablet's entries not yet
    acknowledged by the server. ``alerts``: open (unacknowledged) alerts on this tablet.
    ``quarantined``: entries held back with a reason. ``last_error``: plain words, or None.
    ``next_attempt_in``: seconds until background sync tries again (None when nothing is
    scheduled: a one-shot sync, or stopped); the summary promises a retry only then.
    ``oldest_unsynced_at``: when this tablet's oldest unacknowledged entry was recorded (UTC),
    or None; the UI turns it into the long-outage warning (:mod:`sync.unsynced`).
    """

    state: State = "idle"
    online: bool = False
    pending: int = 0
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    alerts: int = 0
    quarantined: int = 0
    last_error: str | None = None
    next_attempt_in: float | None = None
    oldest_unsynced_at: datetime | None = None
    history_progress: float | None = None
    """While a tablet that started from a snapshot fills in its history: the share done
    (0..1); None when its history is complete."""
    history_complete_from: datetime | None = None
    """From when the history this tablet holds is complete (None: all of it)."""
    history_problem: str | None = None
    """The chains disagreed with the snapshot (an alert was raised through the server)."""

    def summary(self) -> str:
        if self.state == "syncing":
            return "Syncing…"
        when = "never" if self.last_success is None else self.last_success.strftime("%H:%M")
        head = "Online" if self.online else "Offline"
        text = f"{head} · {self.pending} waiting · last sync {when}"
        if self.alerts:
            text += f" · {self.alerts} alert(s)"
        if self.history_progress is not None:
            text += f" · fetching history {self.history_progress:.0%}"
        if self.history_problem:
            text += " · history disagrees with the server's snapshot (alert raised)"
        if self.last_error:
            text += f" · {self.last_error}"
            if self.next_attempt_in is not None and self.state in ("offline", "refused"):
                text += f" Trying again in {max(1, round(self.next_attempt_in))} s."
        return text


T = TypeVar("T")
Listener = Callable[[SyncStatus], None]


class Listeners(Generic[T]):
    """Callbacks told about each new value, on the thread that announces it (see the module
    doc). Thread-safe; a callback that raises is logged and skipped."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[T], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[T], None]) -> Callable[[], None]:
        """Adds ``listener``; returns a function to remove it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def announce(self, value: T) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(value)
            except Exception:  # a UI bug must never stop sync
                log.exception("sync listener failed")


class StatusBoard:
    """Holds the current :class:`SyncStatus` and tells subscribers about every change."""

    def __init__(self, initial: SyncStatus | None = None) -> None:
        self._status = initial or SyncStatus()
        self._listeners = Listeners[SyncStatus]()
        self._lock = threading.Lock()

    @property
    def current(self) -> SyncStatus:
        with self._lock:
            return self._status

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Adds ``listener`` (called with each new status); returns a function to remove it."""
        return self._listeners.subscribe(listener)

    def update(self, **changes: Any) -> SyncStatus:
        with self._lock:
            self._status = dataclasses.replace(self._status, **changes)
            status = self._status
        self._listeners.announce(status)
        return status
