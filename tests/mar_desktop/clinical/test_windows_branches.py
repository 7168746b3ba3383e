"""Window classes from fixed times whose minutes decide the class, and windows given in UTC."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from mar_desktop.clinical.windows import WindowClass, dose_window, schedule_window_class
from mar_desktop.model import FacilitySettings
from tests.mar_desktop.clinical.factories import NY, fixed, local, order


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        (("08:30", "12:15"), WindowClass.TIME_CRITICAL),  # 3 h 45 min apart
        (("08:50", "12:45"), WindowClass.TIME_CRITICAL),  # 3 h 55 min
        (("08:00", "11:58"), WindowClass.TIME_CRITICAL),  # 3 h 58 min
        (("08:00", "12:00"), WindowClass.FREQUENT),  # exactly 4 h
        (("08:00", "20:00"), WindowClass.FREQUENT),
        (("08:15", "20:45"), WindowClass.FREQUENT),
        (("08:45",), WindowClass.DAILY),
    ],
)
def test_the_minutes_of_fixed_times_decide_the_class(
    times: tuple[str, ...], expected: WindowClass
) -> None:
    assert schedule_window_class(fixed(*times)) is expected


def test_the_window_is_given_in_utc_whatever_the_zone_of_the_time() -> None:
    scheduled = local(NY, 2024, 6, 3, 8).astimezone(NY)
    start, end = dose_window(order(fixed("08:00")), scheduled, FacilitySettings())
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert (start, end) == (scheduled - timedelta(hours=2), scheduled + timedelta(hours=2))
