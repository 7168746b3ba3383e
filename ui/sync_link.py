"""The GUI's handle on the sync engine: status changes marshalled to the GUI thread.

The :class:`sync.engine.SyncEngine` owns its thread and calls its status subscribers on it.
:class:`SyncLink` subscribes with a function that only emits a Qt signal through an explicitly
QUEUED connection, so :attr:`changed` (and :attr:`pulled`, what a sync's pulled entries
changed) is always emitted on the GUI thread and no widget is ever touched from the sync
thread. ``status()`` is the engine's current snapshot (an in-memory read
under a lock: cheap, any thread); it is what ``Backend.sync_status`` hands to the status bar.

:meth:`watch` asks for a sync a few seconds after the task runner goes idle (local writes are
done on the worker), debounced, so new records leave soon without a sync per click.

The composition root owns it: :meth:`start` after the login window shows, :meth:`stop` on quit
BEFORE the store is closed (it joins the sync thread). GUI thread only.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from mar_desktop.changes import Changes
from mar_desktop.sync_status import SyncStatus
from sync.status import Listeners, StatusBoard


class EngineLike(Protocol):
    """What :class:`SyncLink` needs of :class:`sync.engine.SyncEngine`."""

    status: StatusBoard
    pulled: Listeners[Changes]

    def start(self) -> None: ...

    def request_sync(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> bool: ...


class SyncLink(QObject):
    changed = Signal(object)  # SyncStatus, on the GUI thread
    pulled = Signal(object)  # Changes a sync pulled, on the GUI thread
    _from_sync = Signal(object)
    _pulled_from_sync = Signal(object)

    def __init__(self, engine: EngineLike, parent: QObject | None = None,
                 debounce_ms: int = 3000) -> None:
        super().__init__(parent)
        self.engine = engine
        self._from_sync.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._pulled_from_sync.connect(self._deliver_pulled, Qt.ConnectionType.QueuedConnection)
        self._subscriptions = (
            engine.status.subscribe(self._from_sync.emit),
            engine.pulled.subscribe(self._pulled_from_sync.emit),
        )
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(engine.request_sync)
        self.running = False

    def status(self) -> SyncStatus:
        return self.engine.status.current

    @Slot(object)
    def _deliver(self, status: object) -> None:
        self.changed.emit(status)

    @Slot(object)
    def _deliver_pulled(self, changes: object) -> None:
        self.pulled.emit(changes)

    def start(self) -> None:
        self.engine.start()
        self.running = True

    def request_sync(self) -> None:
        """A sync soon (debounced)."""
        if self.running:
            self._debounce.start()

    def watch(self, busy_changed: object) -> None:
        """Requests a sync whenever ``busy_changed`` (TaskRunner's signal) reports idle."""
        busy_changed.connect(  # type: ignore[attr-defined]
            lambda busy: None if busy else self.request_sync()
        )

    def stop(self, timeout: float = 5.0) -> bool:
        """Stops the engine's thread (joins it). Idempotent."""
        self._debounce.stop()
        for unsubscribe in self._subscriptions:
            unsubscribe()
        self.running = False
        return self.engine.stop(timeout)
