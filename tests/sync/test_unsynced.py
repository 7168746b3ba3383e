"""The unsynced-too-long warning: pure thresholds, and the oldest unacknowledged entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mar_desktop.clock import FakeClock
from mar_desktop.model import FacilitySettings
from mar_desktop.sync_status import unsynced_warning
from storage.local_store import LocalStore
from storage.sync_state import SyncState, acked_cursor
from sync.unsynced import oldest_unsynced_at
from tests import factories as f

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_warning_thresholds() -> None:
    assert unsynced_warning(None, NOW, None) is None
    assert unsynced_warning(NOW - timedelta(hours=3, minutes=59), NOW, None) is None
    text = unsynced_warning(NOW - timedelta(hours=4), NOW, None)
    assert text is not None and "4 hours" in text
    tight = FacilitySettings(unsynced_warning_hours=1)
    assert unsynced_warning(NOW - timedelta(minutes=61), NOW, tight) is not None
    loose = FacilitySettings(unsynced_warning_hours=12)
    assert unsynced_warning(NOW - timedelta(hours=11), NOW, loose) is None
    assert "3 days" in (unsynced_warning(NOW - timedelta(days=3), NOW, None) or "")
    assert unsynced_warning(NOW + timedelta(hours=5), NOW, None) is None  # clock went back


def test_oldest_unsynced_follows_the_acknowledged_cursor(tmp_path: Path) -> None:
    clock = FakeClock()
    store = LocalStore.create(tmp_path / "data", bytes(range(32)), "fac-1", clock)
    state = SyncState(store.connect_reader)
    try:
        assert oldest_unsynced_at(state, store.device_id) is None
        first = clock.now()
        store.ledger.append([f.administration("res-1", "ord-1", scheduled_for=None)])
        clock.advance(timedelta(hours=2))
        store.ledger.append([f.administration("res-1", "ord-2", scheduled_for=None)])
        assert oldest_unsynced_at(state, store.device_id) == first
        state.set_cursor(acked_cursor("ledger"), 1)
        assert oldest_unsynced_at(state, store.device_id) == first + timedelta(hours=2)
        state.set_cursor(acked_cursor("ledger"), 2)
        assert oldest_unsynced_at(state, store.device_id) is None
    finally:
        state.close()
        store.close()
