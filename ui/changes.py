"""One place the screens hear about changes, the same way whether a change was made on this
tablet or pulled from another.

:class:`ChangeHub` is told by :meth:`ui.context.UiContext.run` when a worker call returned
ledger entries (a service change), and by the sync link when a sync pulled entries
(:attr:`sync.engine.SyncEngine.pulled`, marshalled to the GUI thread). It emits one
:class:`~mar_desktop.changes.Changes` per change; the work area refreshes the screens it
touches. GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal, Slot

from mar_desktop.changes import NO_CHANGES, Changes, changes_of
from mar_desktop.envelope import Entry


class ChangeHub(QObject):
    changed = Signal(object, float)
    """(Changes, stored_by): the changes, and a ``time.monotonic()`` by which they were stored;
    a screen whose read was asked for at or after it already shows them. GUI thread."""

    @Slot(object)
    def announce(self, changes: object, stored_by: float | None = None) -> None:
        """Emits ``changes`` unless it is empty; ``stored_by`` defaults to now."""
        if isinstance(changes, Changes) and changes:
            self.changed.emit(changes, time.monotonic() if stored_by is None else stored_by)


def changes_in(result: object) -> Changes:
    """What a worker call's result changed: an entry, or a sequence of entries, as written by a
    service; anything else changed nothing a screen shows."""
    if isinstance(result, Entry):
        entries: Sequence[object] = (result,)
    elif isinstance(result, list | tuple) and result and isinstance(result[0], Entry):
        entries = result  # a service's entries; a read's long list of views is not walked
    else:
        return NO_CHANGES
    return changes_of((e.kind, e.body) for e in entries if isinstance(e, Entry))
