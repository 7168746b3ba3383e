"""Administration windows of scheduled doses (ISMP acute-care guidelines;
docs/architecture.md#clinical-defaults).

A scheduled dose may be given from ``scheduled_for - w`` to ``scheduled_for + w`` inclusive,
where the half-width ``w`` depends on how the order is timed:

=====================================================  ==========================================
order                                                  half-width (FacilitySettings field)
=====================================================  ==========================================
``Order.time_critical``                                ``window_time_critical_minutes`` (30)
doses more often than every 4 h (q1h, q2h, q3h; fixed  ``window_time_critical_minutes`` (30)
times less than 4 h apart)
more often than daily, at most every 4 h (q4h … q12h;  ``window_frequent_minutes`` (60)
two or more fixed times a day)
daily or less often (q24h, q48h, one time a day,       ``window_daily_minutes`` (120)
weekly)
=====================================================  ==========================================

The gap between fixed times is measured on the wall clock around the week (so ``23:00`` and
``01:00`` every day are 2 h apart, ``22:00`` on Monday only and ``01:00`` on Tuesday only are 3 h
apart). PRN orders have no window. Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise

from mar_desktop.model import FacilitySettings, Order, Schedule

FOUR_HOURS_MINUTES = 4 * 60
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


class WindowClass(StrEnum):
    TIME_CRITICAL = "time_critical"
    FREQUENT = "frequent"  # more than daily, no more often than every 4 hours
    DAILY = "daily"  # daily or less often


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:5])


@lru_cache(maxsize=4096)
def _fixed_times_class(times: tuple[str, ...], days: tuple[int, ...] | None) -> WindowClass:
    day_list = sorted(set(days)) if days is not None else list(range(7))
    minutes = sorted({_minutes(t) for t in times})
    points = [d * MINUTES_PER_DAY + m for d in day_list for m in minutes]
    if len(points) > 1:
        gaps = [b - a for a, b in pairwise(points)]
        gaps.append(points[0] + MINUTES_PER_WEEK - points[-1])  # around the week
        if min(gaps) < FOUR_HOURS_MINUTES:
            return WindowClass.TIME_CRITICAL
    return WindowClass.FREQUENT if len(minutes) > 1 else WindowClass.DAILY


def schedule_window_class(schedule: Schedule) -> WindowClass:
    """The ISMP class of a scheduled (non-PRN) schedule, ignoring the time-critical flag.

    Raises ``ValueError`` for a PRN schedule, which has no window.
    """
    if schedule.kind == "every_n_hours":
        hours = schedule.every_hours
        assert hours is not None  # guaranteed by Schedule's validator
        if hours * 60 < FOUR_HOURS_MINUTES:
            return WindowClass.TIME_CRITICAL
        if hours < 24:
            return WindowClass.FREQUENT
        return WindowClass.DAILY
    if schedule.kind == "fixed_times":
        return _fixed_times_class(schedule.times, schedule.days_of_week)
    raise ValueError("PRN orders have no administration window")


def window_class(order: Order) -> WindowClass:
    """The ISMP class of ``order``: time-critical if flagged, else by schedule frequency.

    Raises ``ValueError`` for a PRN order.
    """
    if order.is_prn:
        raise ValueError("PRN orders have no administration window")
    if order.time_critical:
        return WindowClass.TIME_CRITICAL
    return schedule_window_class(order.schedule)


def half_width_minutes(cls: WindowClass, settings: FacilitySettings) -> int:
    if cls is WindowClass.TIME_CRITICAL:
        return settings.window_time_critical_minutes
    if cls is WindowClass.FREQUENT:
        return settings.window_frequent_minutes
    return settings.window_daily_minutes


def window_half_width(order: Order, settings: FacilitySettings) -> timedelta:
    """How far either side of the scheduled time ``order``'s doses may be given."""
    return timedelta(minutes=half_width_minutes(window_class(order), settings))


def dose_window(
    order: Order, scheduled_for: datetime, settings: FacilitySettings
) -> tuple[datetime, datetime]:
    """``(window_start, window_end)`` in UTC for the dose of ``order`` at ``scheduled_for``.

    Both ends are inside the window (closed interval). ``scheduled_for`` must be aware.
    Raises ``ValueError`` for a PRN order or a naive time.
    """
    if scheduled_for.tzinfo is None:
        raise ValueError("scheduled_for must carry a time zone")
    half = window_half_width(order, settings)
    moment = scheduled_for.astimezone(UTC)
    return moment - half, moment + half


def in_window(window: tuple[datetime, datetime], moment: datetime) -> bool:
    """Whether ``moment`` lies inside the closed ``window``."""
    return window[0] <= moment <= window[1]
