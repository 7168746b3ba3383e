"""The always-visible status bar: sync state (online/offline, pending entries, last success,
open alerts), the long-outage warning, the signed-in user.

Status is never told by colour alone: every state has a glyph AND words (``describe_sync``);
the colour (the ``sync`` dynamic property the stylesheet selects on) only repeats it.

Updates: :meth:`SyncStatusBar.show_status` is called with each new status on the GUI thread
(the composition root connects :class:`ui.sync_link.SyncLink`'s ``changed`` signal, which
is already marshalled from the sync thread); a 2 s timer on the GUI thread also re-reads
``source.status()`` (a cheap in-memory read) and re-evaluates the time-based parts ("last sync
N min ago" and the unsynced-too-long warning of
:func:`mar_desktop.sync_status.unsynced_warning`, which can start while nothing changes, since
time passes while offline). The offline limit's message (its last day counted down, then "shows
no patient data") takes the warning line when there is one. Owned by the main window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mar_desktop.clock import Clock
from mar_desktop.model import FacilitySettings
from mar_desktop.people.offline import OfflineStatus
from mar_desktop.sync_status import SyncStatus, clock_warning, unsynced_warning
from ui import theme
from ui.backend import SyncStatusSource
from ui.widgets.common import Banner

NOT_CONFIGURED = "⊘ Offline – not yet configured"

# state -> (glyph, words, style). Words always carry the meaning.
STATES: dict[str, tuple[str, str, str]] = {
    "idle": ("…", "Connecting", "neutral"),
    "syncing": ("⟳", "Syncing", "online"),
    "online": ("●", "Online", "online"),
    "offline": ("⊘", "Offline", "offline"),
    "stopped": ("⊘", "Offline", "offline"),
    "refused": ("⛔", "Offline – secure connection refused", "problem"),
    "revoked": ("⛔", "Tablet revoked – cannot sync", "problem"),
    "erased": ("⛔", "Tablet revoked – its data was erased", "problem"),
    "update_required": ("⛔", "App update required – cannot sync", "problem"),
    "fork": ("⚠", "Sending stopped – call the administrator", "problem"),
    "not_enrolled": ("⊘", "Offline – not yet configured", "offline"),
}


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never synced"
    minutes = int((now - when).total_seconds() // 60)
    if minutes < 1:
        return "last sync just now"
    if minutes < 120:
        return f"last sync {minutes} min ago"
    return f"last sync {minutes // 60} h ago"


def sync_state(status: SyncStatus | None) -> tuple[str, str, str]:
    """(glyph, words, style) of a status; ``None`` is a tablet without a server."""
    if status is None:
        return STATES["not_enrolled"]
    if status.state == "idle" and status.last_attempt is not None:
        return STATES["online" if status.online else "offline"]
    return STATES.get(status.state, STATES["offline"])


def describe_sync(status: SyncStatus | None, now: datetime) -> str:
    """One line: glyph + state words · pending · last success · open alerts."""
    if status is None or status.state == "not_enrolled":
        return NOT_CONFIGURED
    glyph, words, _style = sync_state(status)
    pending = f"{status.pending} waiting to sync" if status.pending else "all synced"
    alerts = (
        f"{theme.GLYPH_WARNING} {status.alerts} open alert{'s' if status.alerts != 1 else ''}"
        if status.alerts
        else "no open alerts"
    )
    return f"{glyph} {words}  ·  {pending}  ·  {_ago(status.last_success, now)}  ·  {alerts}"


class SyncStatusBar(QFrame):
    def __init__(
        self, source: SyncStatusSource | None, clock: Clock, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("statusbar")
        self._source = source
        self._clock = clock
        self._settings: Callable[[], FacilitySettings | None] = lambda: None
        self._offline: Callable[[], OfflineStatus] | None = None
        self._status: SyncStatus | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 6, 14, 6)
        column.setSpacing(4)
        self.warning = Banner()
        self.warning.setObjectName("unsyncedWarning")
        column.addWidget(self.warning)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.sync_label = QLabel(NOT_CONFIGURED)
        self.sync_label.setObjectName("syncStatus")
        self.user_label = QLabel("")
        self.sync_label.setWordWrap(True)  # two lines on a portrait tablet, never clipped
        row.addWidget(self.sync_label, 1)
        row.addWidget(self.user_label)
        column.addLayout(row)
        self._timer = QTimer(self)
        self._timer.setInterval(2000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def set_source(
        self,
        source: SyncStatusSource | None,
        settings: Callable[[], FacilitySettings | None] | None = None,
        offline: Callable[[], OfflineStatus] | None = None,
    ) -> None:
        """The status source, the facility settings (for the warning's threshold) and the
        offline limit's status (its last day counts down in the warning line; memory only)."""
        self._source = source
        if settings is not None:
            self._settings = settings
        if offline is not None:
            self._offline = offline
        self.refresh()

    def refresh(self) -> None:
        """Re-reads the source and re-evaluates the time-based parts (GUI thread)."""
        self.show_status(self._source.status() if self._source is not None else None)

    def show_status(self, status: SyncStatus | None) -> None:
        now = self._clock.now()
        self._status = status
        self.sync_label.setText(describe_sync(status, now))
        self.sync_label.setToolTip((status.last_error or "") if status is not None else "")
        style = sync_state(status)[2]
        if self.sync_label.property("sync") != style:
            theme.set_prop(self.sync_label, "sync", style)
        warning = None
        if status is not None:
            warning = unsynced_warning(status.oldest_unsynced_at, now, self._settings())
            warning = clock_warning(status) or warning  # a wrong clock makes every time wrong
        if self._offline is not None:  # the offline limit's last day outranks the outage line
            warning = self._offline().message() or warning
        if warning is None:
            if self.warning.isVisible() or self.warning.text():
                self.warning.clear_message()
        elif self.warning.text() != f"{theme.GLYPH_WARNING}  {warning}":
            self.warning.show_message("warning", warning)

    @property
    def status(self) -> SyncStatus | None:
        return self._status

    def set_user(self, text: str) -> None:
        self.user_label.setText(text)

    def stop(self) -> None:
        self._timer.stop()
