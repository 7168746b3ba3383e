"""The backup retention policy, as a pure function (``mar-server backup prune`` applies it).

Default: **dailies for 35 days, monthlies for 7 years**. Given the times of the backups that
exist and "now", :func:`to_keep` returns the ones to keep; everything else may be deleted.
All times are compared in UTC (naive times are refused), so a facility's time zone or a
daylight-saving change never moves a backup into another day or month.

Rules and edge cases (decided here, documented in docs/server-operations.md):

1. *Recent*: every backup taken within ``daily_days`` of now (``now - t <= 35 days``) is kept —
   all of them, including extra ones on the same day (e.g. the safety backup ``restore --force``
   writes).
2. *Monthly*: the first backup of each UTC calendar month (the earliest one in the list, so the
   choice is stable from one prune to the next) is kept while ``t >= now - 7 years`` (calendar
   years; from 29 February the limit falls on 28 February).
3. *Future*: backups dated after now (a clock set wrong) are kept; nothing is deleted on a guess.
4. *Never empty*: the newest backup is always kept, however old, so a backup job that stopped
   long ago can never lead prune to delete the last copy.
5. Nothing else older than 35 days is kept; nothing older than 7 years is kept unless rule 3 or
   4 applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Policy:
    daily_days: int = 35
    monthly_years: int = 7

    def __post_init__(self) -> None:
        if self.daily_days < 1 or self.monthly_years < 0:
            raise ValueError("retention: daily_days must be >= 1 and monthly_years >= 0")


DEFAULT_POLICY = Policy()


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` earlier (29 February → 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _utc(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("retention needs timezone-aware times (UTC)")
    return (moment - offset).replace(tzinfo=None)


def to_keep(
    times: Iterable[datetime], now: datetime, policy: Policy = DEFAULT_POLICY
) -> set[datetime]:
    """The subset of ``times`` the policy keeps (see the module docstring). Pure."""
    given = sorted(set(times), key=_utc)
    if not given:
        return set()
    utc_now = _utc(now)
    daily_from = utc_now - timedelta(days=policy.daily_days)
    monthly_from = years_before(utc_now, policy.monthly_years)
    keep: set[datetime] = {given[-1]}
    months_seen: set[tuple[int, int]] = set()
    for moment in given:
        t = _utc(moment)
        month = (t.year, t.month)
        first_of_month = month not in months_seen
        months_seen.add(month)
        if t > utc_now or t >= daily_from or (first_of_month and t >= monthly_from):
            keep.add(moment)
    return keep
