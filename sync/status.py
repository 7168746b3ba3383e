"""The board the sync engine publishes its :class:`~mar_desktop.sync_status.SyncStatus` on, and
the listeners it tells.

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
from typing import Any, Generic, TypeVar

from mar_desktop.sync_status import SyncStatus

log = logging.getLogger(__name__)

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
