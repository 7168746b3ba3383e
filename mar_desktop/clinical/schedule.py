"""Schedule expansion and dose status (docs/architecture.md#clinical-defaults). Pure functions,
no I/O, any thread.

Times in and out are aware UTC ``datetime``; wall-clock schedule times are read in the facility's
zone.

Expansion rules
---------------
* ``fixed_times``: each ``HH:MM`` is a local wall-clock time on every local day whose weekday is
  in ``days_of_week`` (0 = Monday; ``None`` = every day).
* ``every_n_hours``: an elapsed-time series. Its origin is the local ``anchor`` time on the local
  day of the order's start; doses are ``origin + k × every_hours`` (real, UTC hours, so a
  daylight-saving change neither shortens nor lengthens an interval and the wall-clock times
  shift by an hour instead). The first dose is the first point of the series at or after the
  order's start.
* Daylight saving, both kinds: a local time that does not exist (spring forward, 02:30 in
  America/New_York) is given at the equivalent instant, i.e. ``fold=0`` of :mod:`zoneinfo`
  (02:30 → 03:30 local); an ambiguous local time (fall back, 01:30) happens once, at its first
  occurrence. Two fixed times that land on the same instant that way give one dose.
* Doses are produced only while the order runs: from its start, before its end and its
  discontinuation. Doses during an order hold are produced and get status HELD. PRN orders
  produce no scheduled doses.

Status of a dose at ``now``
---------------------------
1. A record that is not voided decides: GIVEN, REFUSED, HELD, or NOT_GIVEN (not available,
   away, other). With several, a GIVEN one wins (the earliest recorded); otherwise the last
   recorded.
2. Else, a dose inside an order hold is HELD.
3. Else by time, with the window ``[window_start, window_end]`` (both ends inside) of
   :mod:`mar_desktop.clinical.windows`: UPCOMING before ``window_start``; DUE inside the window;
   LATE after ``window_end`` up to and including ``window_end + missed_after_minutes``; MISSED
   after that. A dose whose only records are voided behaves as one with no record while it is
   actionable (upcoming, due, late; ``record`` is None) and is VOIDED (``record`` = the last
   voided one) once it would be MISSED.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from mar_desktop.clinical.windows import (
    WindowClass,
    half_width_minutes,
    window_class,
    window_half_width,
)
from mar_desktop.model import DoseStatus, Facility, FacilitySettings, Order, Outcome
from mar_desktop.views import AdministrationRecord, OrderState, ScheduledDose

_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

OUTCOME_STATUS: dict[Outcome, DoseStatus] = {
    Outcome.GIVEN: DoseStatus.GIVEN,
    Outcome.REFUSED: DoseStatus.REFUSED,
    Outcome.HELD: DoseStatus.HELD,
    Outcome.NOT_AVAILABLE: DoseStatus.NOT_GIVEN,
    Outcome.AWAY: DoseStatus.NOT_GIVEN,
    Outcome.OTHER: DoseStatus.NOT_GIVEN,
}

ACTIONABLE = frozenset({DoseStatus.UPCOMING, DoseStatus.DUE, DoseStatus.LATE})
"""Statuses of doses still waiting for a recording."""
_DUE_OR_LATE = frozenset({DoseStatus.DUE, DoseStatus.LATE})


# ---- local wall-clock time to UTC ---------------------------------------------------------------
def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:5])


@lru_cache(maxsize=65536)
def local_to_utc(zone: ZoneInfo, day: date, minute_of_day: int) -> datetime:
    """The UTC instant of local wall-clock ``minute_of_day`` on ``day`` in ``zone``.

    A non-existent local time (spring forward) maps to the equivalent instant (02:30 → the
    instant of 03:30 local); an ambiguous one (fall back) maps to its first occurrence.
    """
    hour, minute = divmod(minute_of_day, 60)
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone, fold=0)
    return local.astimezone(UTC)


@lru_cache(maxsize=65536)
def _fixed_slots_of_day(
    zone: ZoneInfo, day: date, minutes: tuple[int, ...], days: frozenset[int] | None
) -> tuple[datetime, ...]:
    if days is not None and day.weekday() not in days:
        return ()
    return tuple(sorted({local_to_utc(zone, day, m) for m in minutes}))


@lru_cache(maxsize=65536)
def _series_origin(zone: ZoneInfo, order_start: datetime, anchor: str) -> datetime:
    """Origin of an every-N-hours series: ``anchor`` on the local day the order starts."""
    return local_to_utc(zone, order_start.astimezone(zone).date(), _minutes(anchor))


@lru_cache(maxsize=4096)
def _schedule_minutes(times: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(sorted({_minutes(t) for t in times}))


def _lifetime(state: OrderState, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` clipped to when the order runs (start, end, discontinuation)."""
    order = state.order
    lo = max(start, order.start)
    hi = end
    if order.end is not None and order.end < hi:
        hi = order.end
    if state.discontinued_at is not None and state.discontinued_at < hi:
        hi = state.discontinued_at
    return lo, hi


def expand_schedule(
    order_state: OrderState, start: datetime, end: datetime, zone: ZoneInfo
) -> list[datetime]:
    """The scheduled times (UTC, sorted, no duplicates) of ``order_state`` in ``[start, end)``.

    Includes doses that fall in an order hold (they get status HELD); excludes anything before
    the order's start or at/after its end or discontinuation. PRN: always empty.
    Raises ``ValueError`` for naive ``start``/``end``.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a time zone")
    order = order_state.order
    schedule = order.schedule
    if schedule.kind == "prn":
        return []
    lo, hi = _lifetime(order_state, start, end)
    if lo >= hi:
        return []

    if schedule.kind == "every_n_hours":
        assert schedule.every_hours is not None  # guaranteed by Schedule's validator
        step = timedelta(hours=schedule.every_hours)
        origin = _series_origin(zone, order.start, schedule.anchor)
        k = -((origin - lo) // step)  # ceil((lo - origin) / step)
        moment = origin + k * step
        slots = []
        while moment < hi:
            slots.append(moment)
            moment += step
        return slots

    minutes = _schedule_minutes(schedule.times)
    days = frozenset(schedule.days_of_week) if schedule.days_of_week is not None else None
    day = lo.astimezone(zone).date() - _ONE_DAY
    last = hi.astimezone(zone).date() + _ONE_DAY
    slots = []
    while day <= last:
        for moment in _fixed_slots_of_day(zone, day, minutes, days):
            if lo <= moment < hi:
                slots.append(moment)
        day += _ONE_DAY
    # A zone whose gap crosses midnight can push a slot into the next day's range.
    if any(b <= a for a, b in pairwise(slots)):
        slots = sorted(set(slots))
    return slots


def is_scheduled_slot(order_state: OrderState, moment: datetime, zone: ZoneInfo) -> bool:
    """Whether ``moment`` is exactly one of the order's scheduled times (held ones included)."""
    return bool(expand_schedule(order_state, moment, moment + _TICK, zone))


# ---- status -------------------------------------------------------------------------------------
def _index(
    records: Iterable[AdministrationRecord], order_id: str | None = None
) -> dict[tuple[str, datetime], list[AdministrationRecord]]:
    index: dict[tuple[str, datetime], list[AdministrationRecord]] = {}
    for record in records:
        if record.scheduled_for is None or (order_id is not None and record.order_id != order_id):
            continue
        index.setdefault((record.order_id, record.scheduled_for), []).append(record)
    return index


def deciding_record(records: Sequence[AdministrationRecord]) -> AdministrationRecord | None:
    """The record that decides a dose's status: a non-voided GIVEN (earliest recorded) if any,
    else the last recorded non-voided one, else None."""
    if len(records) == 1:  # the common case
        return None if records[0].voided else records[0]
    valid = [r for r in records if not r.voided]
    if not valid:
        return None
    given = [r for r in valid if r.outcome == Outcome.GIVEN]
    if given:
        return min(given, key=lambda r: (r.recorded_at, r.entry_id))
    return max(valid, key=lambda r: (r.recorded_at, r.entry_id))


def _status(
    state: OrderState,
    moment: datetime,
    records: Sequence[AdministrationRecord],
    *,
    window: tuple[datetime, datetime],
    late_until: datetime,
    now: datetime,
) -> tuple[DoseStatus, AdministrationRecord | None]:
    """Status of the dose at ``moment`` (module docstring, "Status"), and the record shown."""
    record = deciding_record(records) if records else None
    if record is not None:
        return OUTCOME_STATUS[record.outcome], record
    if state.holds and state.held_at(moment):
        return DoseStatus.HELD, None
    if now < window[0]:
        return DoseStatus.UPCOMING, None
    if now <= window[1]:
        return DoseStatus.DUE, None
    if now <= late_until:
        return DoseStatus.LATE, None
    if records:  # only voided records, and the dose can no longer be given
        return DoseStatus.VOIDED, max(records, key=lambda r: (r.recorded_at, r.entry_id))
    return DoseStatus.MISSED, None


def _dose(
    state: OrderState,
    moment: datetime,
    records: Sequence[AdministrationRecord],
    *,
    half: timedelta,
    missed_after: timedelta,
    now: datetime,
) -> ScheduledDose:
    window = (moment - half, moment + half)
    status, record = _status(
        state, moment, records, window=window, late_until=window[1] + missed_after, now=now
    )
    return ScheduledDose(
        order_id=state.order.order_id,
        resident_id=state.order.resident_id,
        scheduled_for=moment,
        window_start=window[0],
        window_end=window[1],
        status=status,
        record=record,
    )


def dose_statuses(
    order_state: OrderState,
    records: Iterable[AdministrationRecord],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    facility: Facility,
) -> list[ScheduledDose]:
    """Every scheduled dose of ``order_state`` in ``[start, end)`` with its window and its status
    at ``now`` (rules in the module docstring), sorted by time. ``records`` may hold other
    orders' records; they are ignored, as are PRN records (no ``scheduled_for``). PRN orders:
    empty list.

    A recording is never hidden: a record of this order whose ``scheduled_for`` lies in the
    range but is not (or no longer) a scheduled time — e.g. the order was discontinued with an
    earlier effective time after the dose was charted — gets a dose of its own with the status
    its records give (VOIDED if all are voided); it is never actionable."""
    if order_state.order.is_prn:
        return []
    settings = facility.settings
    half = window_half_width(order_state.order, settings)
    missed_after = timedelta(minutes=settings.missed_after_minutes)
    index = _index(records, order_state.order.order_id)
    order_id = order_state.order.order_id
    slots = expand_schedule(order_state, start, end, facility.zone)
    doses = [
        _dose(
            order_state,
            moment,
            index.get((order_id, moment), ()),
            half=half,
            missed_after=missed_after,
            now=now,
        )
        for moment in slots
    ]
    scheduled = set(slots)
    charted_elsewhere = sorted(
        moment for (_, moment) in index if start <= moment < end and moment not in scheduled
    )
    if charted_elsewhere:
        for moment in charted_elsewhere:
            recs = index[(order_id, moment)]
            record = deciding_record(recs)
            doses.append(
                ScheduledDose(
                    order_id=order_id,
                    resident_id=order_state.order.resident_id,
                    scheduled_for=moment,
                    window_start=moment - half,
                    window_end=moment + half,
                    status=OUTCOME_STATUS[record.outcome] if record else DoseStatus.VOIDED,
                    record=record or max(recs, key=lambda r: (r.recorded_at, r.entry_id)),
                )
            )
        doses.sort(key=lambda d: d.scheduled_for)
    return doses


def due_now(
    order_states: Iterable[OrderState],
    records: Iterable[AdministrationRecord],
    now: datetime,
    facility: Facility,
    *,
    upcoming_within_minutes: int = 0,
) -> list[ScheduledDose]:
    """The doses that want action at ``now``: DUE and LATE, plus UPCOMING ones scheduled at most
    ``upcoming_within_minutes`` after ``now`` (0: none). Sorted by scheduled time, resident,
    order.

    ``records`` need only hold records whose ``scheduled_for`` is at or after
    ``now - lookback(facility.settings)`` (:func:`due_now_lookback`); older ones are ignored,
    so callers should not load more.
    """
    settings = facility.settings
    zone = facility.zone
    missed_after = timedelta(minutes=settings.missed_after_minutes)
    ahead = timedelta(minutes=max(0, upcoming_within_minutes))
    horizon = now + ahead
    earliest = now - due_now_lookback(settings)
    index = _index(
        r for r in records if r.scheduled_for is not None and r.scheduled_for >= earliest
    )
    # Per window class: half-width and the range of doses that can be due, late or upcoming.
    plans: dict[WindowClass, tuple[timedelta, datetime, datetime]] = {}
    for cls in WindowClass:
        half = timedelta(minutes=half_width_minutes(cls, settings))
        plans[cls] = (half, now - half - missed_after, now + max(half, ahead) + _TICK)
    # Orders whose schedules give the same times share one expansion of their range.
    shared: dict[tuple[object, ...], list[datetime]] = {}
    out: list[ScheduledDose] = []
    for state in order_states:
        order = state.order
        schedule = order.schedule
        if schedule.kind == "prn":
            continue
        half, start, end = plans[window_class(order)]
        runs_throughout = (
            order.start <= start
            and (order.end is None or order.end >= end)
            and (state.discontinued_at is None or state.discontinued_at >= end)
        )
        if not runs_throughout:
            slots = expand_schedule(state, start, end, zone)
        else:
            key = _expansion_key(order, zone, start, end)
            cached = shared.get(key)
            if cached is None:
                cached = shared[key] = expand_schedule(state, start, end, zone)
            slots = cached
        order_id = order.order_id
        for moment in slots:
            window = (moment - half, moment + half)
            status, record = _status(
                state,
                moment,
                index.get((order_id, moment), ()),
                window=window,
                late_until=window[1] + missed_after,
                now=now,
            )
            if status in _DUE_OR_LATE or (status is DoseStatus.UPCOMING and moment <= horizon):
                out.append(
                    ScheduledDose(
                        order_id=order_id,
                        resident_id=order.resident_id,
                        scheduled_for=moment,
                        window_start=window[0],
                        window_end=window[1],
                        status=status,
                        record=record,
                    )
                )
    out.sort(key=lambda d: (d.scheduled_for, d.resident_id, d.order_id))
    return out


def _expansion_key(
    order: Order, zone: ZoneInfo, start: datetime, end: datetime
) -> tuple[object, ...]:
    """Equal for two orders running throughout ``[start, end)`` exactly when their schedules
    give the same times there: same fixed times and days, or every-N-hours series in phase."""
    schedule = order.schedule
    if schedule.kind == "every_n_hours":
        assert schedule.every_hours is not None
        step = timedelta(hours=schedule.every_hours)
        phase = (_series_origin(zone, order.start, schedule.anchor) - _EPOCH) % step
        return ("n", step, phase, start, end)
    return ("t", schedule.times, schedule.days_of_week, start, end)


def due_now_lookback(settings: FacilitySettings) -> timedelta:
    """How far back a dose can still be DUE or LATE: the widest window plus the grace time."""
    widest = max(
        settings.window_time_critical_minutes,
        settings.window_frequent_minutes,
        settings.window_daily_minutes,
    )
    return timedelta(minutes=widest + settings.missed_after_minutes)
