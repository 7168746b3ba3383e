"""The device clock corrected by the server's (mar_desktop/clock.py ServerCorrectedClock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mar_desktop.clock import ServerCorrectedClock
from tests.mar_desktop.people.test_offline import TabletClock

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_it_is_the_device_clock_until_corrected_and_after_the_correction_ends() -> None:
    device = TabletClock()
    clock = ServerCorrectedClock(device)
    assert clock.now() == device.now() and clock.offset_seconds is None
    clock.correct(-7200)  # the device runs 2 h behind the server
    assert clock.now() == device.now() + timedelta(hours=2)
    assert clock.offset_seconds == -7200
    assert clock.device_now() == device.now()  # what a clock comparison sends
    device.run(1.5)
    assert clock.now() == device.now() + timedelta(hours=2)  # time runs on
    clock.correct(None)
    assert clock.now() == device.now()


def test_fixing_the_wall_clock_while_corrected_does_not_shift_the_time_twice() -> None:
    device = TabletClock()
    clock = ServerCorrectedClock(device)
    clock.correct(-7200)
    server_now = device.now() + timedelta(hours=2)
    device.set_wall(server_now)  # IT sets the clock right; the monotonic clock does not jump
    assert clock.now() == server_now  # still the server's time, not 2 h beyond it
    assert clock.offset_seconds == 0
    device.set_wall(server_now - timedelta(days=1))  # or someone sets it back a day
    assert clock.now() == server_now
