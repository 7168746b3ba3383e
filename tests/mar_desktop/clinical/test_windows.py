"""Administration windows per ISMP and FacilitySettings (docs/architecture.md#clinical-defaults)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mar_desktop.clinical.windows import (
    WindowClass,
    dose_window,
    in_window,
    window_class,
    window_half_width,
)
from mar_desktop.model import FacilitySettings
from tests.mar_desktop.clinical.factories import every, fixed, order, prn, utc

SETTINGS = FacilitySettings()
AT = utc(2024, 6, 3, 12, 0)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (every(1), WindowClass.TIME_CRITICAL),
        (every(2), WindowClass.TIME_CRITICAL),
        (every(3), WindowClass.TIME_CRITICAL),
        (every(4), WindowClass.FREQUENT),
        (every(6), WindowClass.FREQUENT),
        (every(12), WindowClass.FREQUENT),
        (every(23), WindowClass.FREQUENT),
        (every(24), WindowClass.DAILY),
        (every(48), WindowClass.DAILY),
        (fixed("08:00"), WindowClass.DAILY),
        (fixed("08:00", days=(0,)), WindowClass.DAILY),  # weekly
        (fixed("08:00", "20:00"), WindowClass.FREQUENT),
        (fixed("06:00", "10:00", "14:00", "18:00", "22:00"), WindowClass.FREQUENT),  # q4h
        (fixed("08:00", "11:59"), WindowClass.TIME_CRITICAL),  # 3 h 59 min apart
        (fixed("08:00", "12:00"), WindowClass.FREQUENT),  # exactly 4 h apart
        (fixed("22:00", "01:00"), WindowClass.TIME_CRITICAL),  # 3 h apart across midnight
        (fixed("21:00", "01:00"), WindowClass.FREQUENT),  # 4 h apart across midnight
        # 22:00 and 01:00 on Monday and Tuesday: Monday 22:00 to Tuesday 01:00 is 3 h.
        (fixed("01:00", "22:00", days=(0, 1)), WindowClass.TIME_CRITICAL),
        # ... but Sunday 22:00 to Monday 01:00 wraps around the week too.
        (fixed("01:00", "22:00", days=(0, 6)), WindowClass.TIME_CRITICAL),
        (fixed("01:00", "22:00", days=(0, 2)), WindowClass.FREQUENT),
    ],
)
def test_window_class_by_frequency(schedule: object, expected: WindowClass) -> None:
    assert window_class(order(schedule)) is expected  # type: ignore[arg-type]


def test_time_critical_flag_wins_over_frequency() -> None:
    assert window_class(order(fixed("08:00"), time_critical=True)) is WindowClass.TIME_CRITICAL
    assert window_class(order(every(8), time_critical=True)) is WindowClass.TIME_CRITICAL


@pytest.mark.parametrize(
    ("the_order", "minutes"),
    [
        (order(fixed("08:00"), time_critical=True), 30),
        (order(every(2)), 30),
        (order(every(6)), 60),
        (order(fixed("08:00", "20:00")), 60),
        (order(fixed("08:00")), 120),
        (order(every(24)), 120),
    ],
)
def test_default_half_widths(the_order: object, minutes: int) -> None:
    start, end = dose_window(the_order, AT, SETTINGS)  # type: ignore[arg-type]
    assert start == AT - timedelta(minutes=minutes)
    assert end == AT + timedelta(minutes=minutes)
    assert start.utcoffset() == timedelta(0)


def test_half_widths_follow_facility_settings() -> None:
    settings = FacilitySettings(
        window_time_critical_minutes=15, window_frequent_minutes=45, window_daily_minutes=90
    )
    assert window_half_width(order(every(2)), settings) == timedelta(minutes=15)
    assert window_half_width(order(every(8)), settings) == timedelta(minutes=45)
    assert window_half_width(order(fixed("09:00")), settings) == timedelta(minutes=90)


def test_window_is_closed_at_both_ends() -> None:
    window = dose_window(order(fixed("08:00")), AT, SETTINGS)
    tick = timedelta(microseconds=1)
    assert in_window(window, window[0])
    assert in_window(window, window[1])
    assert not in_window(window, window[0] - tick)
    assert not in_window(window, window[1] + tick)


def test_window_returned_in_utc_for_any_aware_input() -> None:
    from zoneinfo import ZoneInfo

    at_local = AT.astimezone(ZoneInfo("America/New_York"))
    start, _end = dose_window(order(fixed("08:00")), at_local, SETTINGS)
    assert start == AT - timedelta(hours=2)
    assert start.tzinfo is not None
    assert start.utcoffset() == timedelta(0)


def test_prn_has_no_window() -> None:
    with pytest.raises(ValueError, match="PRN"):
        window_class(order(prn()))
    with pytest.raises(ValueError, match="PRN"):
        dose_window(order(prn()), AT, SETTINGS)


def test_naive_time_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        dose_window(order(fixed("08:00")), AT.replace(tzinfo=None), SETTINGS)
