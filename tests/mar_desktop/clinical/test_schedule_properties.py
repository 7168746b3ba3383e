"""Properties of schedule expansion and dose status over many zones, schedules and ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mar_desktop.clinical.schedule import dose_statuses, due_now, expand_schedule
from mar_desktop.model import DoseStatus, Outcome, Schedule
from mar_desktop.views import Interval
from tests.mar_desktop.clinical.factories import facility, order, record, state

# Zones with awkward rules: 30-minute DST (Lord Howe), a transition at midnight (Santiago),
# half-hour offsets (St John's, Kolkata), a skipped calendar day (Apia, 30 Dec 2011).
ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/St_Johns",
    "Asia/Kolkata",
    "Pacific/Apia",
    "UTC",
]
BASE = datetime(2011, 1, 1, tzinfo=UTC)

hhmm = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 59])
)
instants = st.integers(0, 14 * 365 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m))
fixed_schedules = st.builds(
    lambda times, days: Schedule(kind="fixed_times", times=tuple(times), days_of_week=days),
    st.lists(hhmm, min_size=1, max_size=6),
    st.none() | st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True).map(tuple),
)
interval_schedules = st.builds(
    lambda hours, anchor: Schedule(kind="every_n_hours", every_hours=hours, anchor=anchor),
    st.integers(1, 72),
    hhmm,
)


def _reference_fixed(
    schedule: Schedule, zone: ZoneInfo, lo: datetime, hi: datetime
) -> list[datetime]:
    """Deliberately naive: every local day, every time, zoneinfo with fold=0."""
    out = set()
    day = lo.astimezone(zone).date() - timedelta(days=2)
    while day <= hi.astimezone(zone).date() + timedelta(days=2):
        if schedule.days_of_week is None or day.weekday() in schedule.days_of_week:
            for t in schedule.times:
                wall = datetime(day.year, day.month, day.day, int(t[:2]), int(t[3:]), tzinfo=zone)
                instant = wall.astimezone(UTC)
                if lo <= instant < hi:
                    out.add(instant)
        day += timedelta(days=1)
    return sorted(out)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    schedule=fixed_schedules,
    zone_name=st.sampled_from(ZONES),
    order_start=instants,
    range_start=instants,
    span_hours=st.integers(0, 24 * 20),
    end_after_hours=st.none() | st.integers(1, 24 * 40),
)
def test_fixed_times_match_naive_reference(
    schedule: Schedule,
    zone_name: str,
    order_start: datetime,
    range_start: datetime,
    span_hours: int,
    end_after_hours: int | None,
) -> None:
    zone = ZoneInfo(zone_name)
    end = order_start + timedelta(hours=end_after_hours) if end_after_hours else None
    the_order = order(schedule, start=order_start, end=end)
    range_end = range_start + timedelta(hours=span_hours)
    slots = expand_schedule(state(the_order), range_start, range_end, zone)
    lo = max(range_start, order_start)
    hi = min(range_end, end) if end else range_end
    assert slots == _reference_fixed(schedule, zone, lo, hi)


@settings(max_examples=150, deadline=None)
@given(
    schedule=fixed_schedules | interval_schedules,
    zone_name=st.sampled_from(ZONES),
    order_start=instants,
    offset_hours=st.integers(-24 * 10, 24 * 10),
    span_hours=st.integers(0, 24 * 15),
    split_hours=st.integers(0, 24 * 15),
    discontinue_after=st.none() | st.integers(0, 24 * 20),
)
def test_expansion_sorted_unique_in_range_in_lifetime_and_additive(
    schedule: Schedule,
    zone_name: str,
    order_start: datetime,
    offset_hours: int,
    span_hours: int,
    split_hours: int,
    discontinue_after: int | None,
) -> None:
    zone = ZoneInfo(zone_name)
    start = order_start + timedelta(hours=offset_hours)
    end = start + timedelta(hours=span_hours)
    discontinued = (
        order_start + timedelta(hours=discontinue_after) if discontinue_after is not None else None
    )
    the_state = state(order(schedule, start=order_start), discontinued_at=discontinued)
    slots = expand_schedule(the_state, start, end, zone)
    assert all(a < b for a, b in pairwise(slots))  # sorted, no duplicates
    assert all(start <= s < end for s in slots)
    assert all(the_state.active_at(s) for s in slots)
    assert all(s.utcoffset() == timedelta(0) for s in slots)
    # Expanding two adjacent ranges gives the same doses as expanding their union.
    middle = start + timedelta(hours=min(split_hours, span_hours))
    assert (
        expand_schedule(the_state, start, middle, zone)
        + expand_schedule(the_state, middle, end, zone)
        == slots
    )


@settings(max_examples=150, deadline=None)
@given(
    schedule=interval_schedules,
    zone_name=st.sampled_from(ZONES),
    order_start=instants,
    offset_hours=st.integers(0, 24 * 30),
    span_hours=st.integers(1, 24 * 10),
)
def test_every_n_hours_is_an_exact_elapsed_time_series(
    schedule: Schedule, zone_name: str, order_start: datetime, offset_hours: int, span_hours: int
) -> None:
    zone = ZoneInfo(zone_name)
    assert schedule.every_hours is not None
    step = timedelta(hours=schedule.every_hours)
    start = order_start + timedelta(hours=offset_hours)
    end = start + timedelta(hours=span_hours)
    slots = expand_schedule(state(order(schedule, start=order_start)), start, end, zone)
    assert all(b - a == step for a, b in pairwise(slots))
    # Origin: the anchor's wall-clock time on the local day the order starts.
    day: date = order_start.astimezone(zone).date()
    h, m = int(schedule.anchor[:2]), int(schedule.anchor[3:])
    origin = datetime(day.year, day.month, day.day, h, m, tzinfo=zone).astimezone(UTC)
    assert all((s - origin) % step == timedelta(0) for s in slots)
    if slots:
        assert slots[0] - step < start or slots[0] - step < order_start  # nothing missed before
    else:
        # No point of the series in range: the range is shorter than the step or ends early.
        assert span_hours < schedule.every_hours + 1


outcomes = st.sampled_from(list(Outcome))


@settings(max_examples=200, deadline=None)
@given(
    schedules=st.lists(fixed_schedules | interval_schedules, min_size=1, max_size=5),
    zone_name=st.sampled_from(ZONES),
    now=instants,
    upcoming=st.sampled_from([0, 30, 90, 240]),
    record_picks=st.lists(st.tuples(st.integers(0, 50), outcomes, st.booleans()), max_size=10),
    held=st.booleans(),
    data=st.data(),
)
def test_due_now_agrees_with_dose_statuses(
    schedules: list[Schedule],
    zone_name: str,
    now: datetime,
    upcoming: int,
    record_picks: list[tuple[int, Outcome, bool]],
    held: bool,
    data: st.DataObject,
) -> None:
    fac = facility(zone_name)
    wide_start, wide_end = now - timedelta(days=2), now + timedelta(days=2)
    states = []
    for i, schedule in enumerate(schedules):
        time_critical = data.draw(st.booleans())
        the_order = order(
            schedule,
            order_id=f"o{i}",
            resident_id=f"r{i % 2}",
            start=now - timedelta(days=3),
            time_critical=time_critical,
        )
        holds = (
            (Interval(now - timedelta(hours=3), now + timedelta(hours=1)),)
            if held and i == 0
            else ()
        )
        states.append(state(the_order, holds=holds))
    all_slots = [
        (st_.order.order_id, s)
        for st_ in states
        for s in expand_schedule(st_, wide_start, wide_end, fac.zone)
    ]
    records = [
        record(
            all_slots[pick % len(all_slots)][1],
            outcome,
            order_id=all_slots[pick % len(all_slots)][0],
            voided=voided,
        )
        for pick, outcome, voided in record_picks
        if all_slots
    ]
    expected = [
        d
        for st_ in states
        for d in dose_statuses(st_, records, wide_start, wide_end, now=now, facility=fac)
        if d.status in (DoseStatus.DUE, DoseStatus.LATE)
        or (
            d.status is DoseStatus.UPCOMING and d.scheduled_for <= now + timedelta(minutes=upcoming)
        )
    ]
    expected.sort(key=lambda d: (d.scheduled_for, d.resident_id, d.order_id))
    assert due_now(states, records, now, fac, upcoming_within_minutes=upcoming) == expected
