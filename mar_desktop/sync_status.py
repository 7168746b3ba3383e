"""What the status bar says about sync: the frozen :class:`SyncStatus` the sync engine
publishes, and the "waiting unsynced too long" warning (``FacilitySettings.unsynced_warning_hours``,
default 4) computed from it.

Pure values and functions, any thread, no PHI (durations and counts only). The engine fills
``oldest_unsynced_at`` from its bookkeeping (``sync.unsynced.oldest_unsynced_at``); the status
bar re-evaluates :func:`unsynced_warning` on its clock tick, since time passes while offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mar_desktop.clinical.reconcile import clock_words
from mar_desktop.model import FacilitySettings

DEFAULT_HOURS = FacilitySettings.model_fields["unsynced_warning_hours"].default

State = Literal[
    "not_enrolled",
    "idle",
    "syncing",
    "online",
    "offline",
    "refused",
    "revoked",
    "erased",
    "update_required",
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
    ``clock_offset_seconds``: this tablet's clock minus the server's, when it is off by more
    than the facility allows (None while right): :func:`clock_warning`.
    ``oldest_unsynced_at``: when this tablet's oldest unacknowledged entry was recorded (UTC),
    or None; the UI turns it into the long-outage warning (:func:`unsynced_warning`).
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
    clock_offset_seconds: float | None = None
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


def oldest_unsynced_age(oldest: datetime | None, now: datetime) -> timedelta | None:
    """How long the oldest unsynced entry has waited (never negative), or ``None``."""
    if oldest is None:
        return None
    return max(now - oldest, timedelta(0))


def _words(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    if hours >= 48:
        return f"{hours // 24} days"
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{int(age.total_seconds() // 60)} minutes"


def unsynced_warning(
    oldest: datetime | None, now: datetime, settings: FacilitySettings | None
) -> str | None:
    """The warning text when the oldest unsynced entry has waited at least the facility's
    ``unsynced_warning_hours`` (default 4), else ``None``. Pure."""
    age = oldest_unsynced_age(oldest, now)
    hours = settings.unsynced_warning_hours if settings is not None else DEFAULT_HOURS
    if age is None or age < timedelta(hours=hours):
        return None
    return (
        f"Records have waited {_words(age)} without reaching the server. Check the network; "
        "if it stays down, ask the administrator to export them (mar-desktop export-pending)."
    )


def clock_warning(status: SyncStatus | None) -> str | None:
    """The status bar's warning while this tablet's clock is off the server's, else None."""
    if status is None or status.clock_offset_seconds is None:
        return None
    return (
        f"This tablet's clock runs {clock_words(status.clock_offset_seconds)} the server's. "
        "Doses are timed by the server's clock until it is fixed; after a restart, sync before "
        "giving doses. Ask IT to set the clock; the server has raised an alert."
    )
