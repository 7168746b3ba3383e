"""The "waiting unsynced too long" warning (FacilitySettings.unsynced_warning_hours, default 4).

:func:`oldest_unsynced_at` reads, from the sync bookkeeping, when the oldest entry of this device
that the server has not acknowledged was recorded (either chain). :func:`unsynced_warning` is
pure: given that time, the current time and the facility settings, it returns the status-bar
text or ``None``. Wiring (not done here): the sync engine puts ``oldest_unsynced_at`` into its
status after each attempt, and the UI's status bar shows ``unsynced_warning(...)`` prominently
(re-evaluated on its clock tick, since time passes while offline).

Threads: :func:`oldest_unsynced_at` runs where its ``SyncState`` connection lives (the sync
thread); :func:`unsynced_warning` anywhere. No PHI: the text holds a duration only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mar_desktop.clock import parse_utc
from mar_desktop.envelope import Chain, parse_raw
from mar_desktop.model import FacilitySettings
from storage.sync_state import SyncState, acked_cursor

CHAINS: tuple[Chain, ...] = ("ledger", "audit")
DEFAULT_HOURS = FacilitySettings.model_fields["unsynced_warning_hours"].default


def oldest_unsynced_at(state: SyncState, device_id: str) -> datetime | None:
    """``recorded_at`` (aware UTC) of this device's oldest unacknowledged entry, or ``None``."""
    oldest: datetime | None = None
    for chain in CHAINS:
        acked, _ = state.cursor(acked_cursor(chain))
        rows = state.own_entries_after(device_id, chain, acked, 1)
        if rows:
            at = parse_utc(parse_raw(rows[0][1]).recorded_at)
            oldest = at if oldest is None or at < oldest else oldest
    return oldest


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
