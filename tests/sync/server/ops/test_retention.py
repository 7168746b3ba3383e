"""Retention: dailies for 35 days, monthlies for 7 years, over a simulated 8 years."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.server.retention import Policy, to_keep, years_before

START = datetime(2018, 3, 1, 2, 17, tzinfo=UTC)
DAYS = 8 * 366


def simulate(days: int) -> tuple[datetime, set[datetime], list[datetime]]:
    """One backup a day at 02:17 UTC, pruned after each backup, like the timer does."""
    held: set[datetime] = set()
    made: list[datetime] = []
    now = START
    for day in range(days):
        now = START + timedelta(days=day)
        made.append(now)
        held.add(now)
        held = to_keep(held, now)
    return now, held, made


def test_eight_years_of_daily_backups_keep_exactly_the_policy() -> None:
    now, held, made = simulate(DAYS)
    recent = {t for t in made if now - t <= timedelta(days=35)}
    assert recent <= held  # every daily within 35 days
    older = sorted(held - recent)
    # exactly one per calendar month, the first backup of that month, back 7 years
    months = [(t.year, t.month) for t in older]
    assert len(months) == len(set(months))
    assert all(t.day == 1 for t in older)
    limit = years_before(now, 7)
    assert all(t >= limit for t in held)  # nothing older than 7 years
    expected = {t for t in made if t.day == 1 and limit <= t and now - t > timedelta(days=35)}
    assert set(older) == expected
    # consecutive months, no hole: 84 months in 7 years, less the 1-2 still among the dailies
    # and the boundary month whose 1st fell just before the 7-year limit
    assert 82 <= len(months) <= 84
    for (y1, m1), (y2, m2) in itertools.pairwise(months):
        assert (y2 * 12 + m2) - (y1 * 12 + m1) == 1
    # pruning every day gives the same result as pruning once at the end
    assert held == to_keep(made, now)
    # and the first backups (2018) are long gone
    assert min(held).year == now.year - 7


def test_every_month_boundary_is_in_utc() -> None:
    chicago = timezone(timedelta(hours=-5))
    late_march_local = datetime(2026, 3, 31, 23, 30, tzinfo=chicago)  # 1 April 04:30 UTC
    early_april = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    march = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    now = datetime(2026, 9, 1, tzinfo=UTC)
    newest = datetime(2026, 8, 31, tzinfo=UTC)
    kept = to_keep([march, late_march_local, early_april, newest], now)
    # the local 31 March backup is April's first in UTC; 12:00 UTC is then not a monthly
    assert kept == {march, late_march_local, newest}


def test_the_newest_backup_is_kept_however_old() -> None:
    old = [datetime(2010, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert to_keep(old, now) == {old[-1]}


def test_future_dated_backups_are_kept() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    future = now + timedelta(days=400)
    old = now - timedelta(days=100)
    assert to_keep([old, future, old + timedelta(days=1)], now) == {old, future}


def test_leap_day_limit_and_naive_times_refused() -> None:
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 7) == datetime(2021, 2, 28, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        to_keep([datetime(2026, 1, 1)], datetime(2026, 1, 2, tzinfo=UTC))
    with pytest.raises(ValueError):
        Policy(daily_days=0)


moments = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(moments, max_size=60), moments)
def test_policy_properties(times: list[datetime], now: datetime) -> None:
    kept = to_keep(times, now)
    assert kept <= set(times)
    if times:
        assert max(times) in kept
    assert to_keep(kept, now) == kept  # idempotent: a second prune deletes nothing more
    for t in times:
        if t > now or now - t <= timedelta(days=35):
            assert t in kept
    limit = years_before(now, 7)
    older = [t for t in kept if t <= now and now - t > timedelta(days=35) and t != max(times)]
    by_month: dict[tuple[int, int], list[datetime]] = {}
    for t in older:
        assert t >= limit
        by_month.setdefault((t.year, t.month), []).append(t)
    for (year, month), items in by_month.items():
        assert len(items) == 1
        first = min(t for t in times if (t.year, t.month) == (year, month))
        assert items[0] == first
