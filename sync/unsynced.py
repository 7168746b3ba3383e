"""When this device's oldest entry the server has not acknowledged was recorded (either chain):
what the engine puts into its status after each attempt, for the warning of
:func:`mar_desktop.sync_status.unsynced_warning`.

Thread: where its ``SyncState`` connection lives (the sync thread). No PHI.
"""

from __future__ import annotations

from datetime import datetime

from mar_desktop.clock import parse_utc
from mar_desktop.envelope import Chain, parse_raw
from storage.sync_state import SyncState, acked_cursor

CHAINS: tuple[Chain, ...] = ("ledger", "audit")


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
