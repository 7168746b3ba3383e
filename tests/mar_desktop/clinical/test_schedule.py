"""Schedule expansion across daylight-saving changes, and dose status at boundary instants."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from mar_desktop.clinical.schedule import (
    deciding_record,
    dose_statuses,
    due_now,
    due_now_lookback,
    expand_schedule,
    is_scheduled_slot,
)
from mar_desktop.model import DoseStatus, FacilitySettings, Outcome
from mar_desktop.views import Interval
from tests.mar_desktop.clinical.factories import (
    BER,
    BERLIN,
    NY,
    every,
    facility,
    fixed,
    local,
    order,
    prn,
    record,
    state,
    utc,
)

TICK = timedelta(microseconds=1)


def expand(the_order: object, start: object, end: object, zone: object = NY, **kw: object) -> list:
    return expand_schedule(state(the_order, **kw), start, end, zone)  # type: ignore[arg-type]


# ---- fixed times --------------------------------------------------------------------------------
def test_fixed_times_are_local_wall_clock_times() -> None:
    slots = expand(order(fixed("08:00", "20:00")), utc(2024, 6, 3), utc(2024, 6, 5))
    assert slots == [
        utc(2024, 6, 3, 0),  # 20:00 EDT on 2 June
        utc(2024, 6, 3, 12),
        utc(2024, 6, 4, 0),
        utc(2024, 6, 4, 12),
    ]


def test_fixed_time_keeps_its_wall_clock_time_across_dst() -> None:
    slots = expand(order(fixed("08:00")), local(NY, 2024, 3, 9), local(NY, 2024, 3, 12))
    assert [s.astimezone(NY).hour for s in slots] == [8, 8, 8]
    assert slots == [utc(2024, 3, 9, 13), utc(2024, 3, 10, 12), utc(2024, 3, 11, 12)]
    assert slots[1] - slots[0] == timedelta(hours=23)  # the short day


def test_new_york_spring_forward_missing_time_is_given_at_equivalent_instant() -> None:
    slots = expand(order(fixed("02:30")), local(NY, 2024, 3, 9), local(NY, 2024, 3, 12))
    assert slots == [
        utc(2024, 3, 9, 7, 30),  # 02:30 EST
        utc(2024, 3, 10, 7, 30),  # 02:30 does not exist: 03:30 EDT
        utc(2024, 3, 11, 6, 30),  # 02:30 EDT
    ]
    assert slots[1].astimezone(NY).strftime("%H:%M %Z") == "03:30 EDT"


def test_spring_forward_times_that_meet_on_one_instant_give_one_dose() -> None:
    slots = expand(
        order(fixed("01:30", "02:30", "03:30")), local(NY, 2024, 3, 10), local(NY, 2024, 3, 11)
    )
    assert slots == [utc(2024, 3, 10, 6, 30), utc(2024, 3, 10, 7, 30)]


def test_new_york_fall_back_ambiguous_time_happens_once_first_occurrence() -> None:
    slots = expand(order(fixed("01:30")), local(NY, 2024, 11, 2), local(NY, 2024, 11, 5))
    assert slots == [
        utc(2024, 11, 2, 5, 30),  # 01:30 EDT
        utc(2024, 11, 3, 5, 30),  # 01:30 EDT, the first of the two 01:30s
        utc(2024, 11, 4, 6, 30),  # 01:30 EST
    ]
    assert slots[1].astimezone(NY).strftime("%H:%M %Z") == "01:30 EDT"


def test_berlin_spring_forward_and_fall_back() -> None:
    spring = expand(
        order(fixed("02:30")), local(BER, 2024, 3, 30), local(BER, 2024, 4, 2), zone=BER
    )
    assert spring == [utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 30), utc(2024, 4, 1, 0, 30)]
    assert spring[1].astimezone(BER).strftime("%H:%M %Z") == "03:30 CEST"
    autumn = expand(
        order(fixed("02:30")), local(BER, 2024, 10, 26), local(BER, 2024, 10, 29), zone=BER
    )
    assert autumn == [
        utc(2024, 10, 26, 0, 30),
        utc(2024, 10, 27, 0, 30),  # 02:30 CEST, once
        utc(2024, 10, 28, 1, 30),
    ]


def test_days_of_week_are_local_days() -> None:
    # 2024-06-03 is a Monday; 23:30 EDT Monday is Tuesday 03:30 UTC.
    the_order = order(fixed("23:30", days=(0,)))
    slots = expand(the_order, utc(2024, 6, 1), utc(2024, 6, 15))
    assert slots == [utc(2024, 6, 4, 3, 30), utc(2024, 6, 11, 3, 30)]
    assert all(s.astimezone(NY).weekday() == 0 for s in slots)


# ---- every N hours ------------------------------------------------------------------------------
def test_every_n_hours_steps_in_real_hours_across_new_york_spring_forward() -> None:
    the_order = order(every(6), start=local(NY, 2024, 3, 9))
    slots = expand(the_order, local(NY, 2024, 3, 9), local(NY, 2024, 3, 11))
    assert all(b - a == timedelta(hours=6) for a, b in itertools.pairwise(slots))
    assert slots[0] == utc(2024, 3, 9, 5)
    walls = [s.astimezone(NY).strftime("%d %H:%M") for s in slots]
    assert walls == [
        "09 00:00", "09 06:00", "09 12:00", "09 18:00",
        "10 00:00", "10 07:00", "10 13:00", "10 19:00",  # wall clock shifts, interval does not
    ]  # fmt: skip


def test_every_n_hours_across_new_york_fall_back_with_anchor_in_ambiguous_hour() -> None:
    the_order = order(every(8, anchor="01:30"), start=local(NY, 2024, 11, 3))
    slots = expand(the_order, local(NY, 2024, 11, 3), local(NY, 2024, 11, 4))
    assert slots == [utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 13, 30), utc(2024, 11, 3, 21, 30)]
    walls = [s.astimezone(NY).strftime("%H:%M %Z") for s in slots]
    assert walls == ["01:30 EDT", "08:30 EST", "16:30 EST"]


def test_every_n_hours_across_berlin_fall_back() -> None:
    the_order = order(every(4), start=local(BER, 2024, 10, 27))
    slots = expand(the_order, local(BER, 2024, 10, 27), local(BER, 2024, 10, 27, 12), zone=BER)
    walls = [s.astimezone(BER).strftime("%H:%M %Z") for s in slots]
    assert walls == ["00:00 CEST", "03:00 CET", "07:00 CET", "11:00 CET"]


def test_every_n_hours_anchor_in_spring_forward_gap() -> None:
    the_order = order(every(12, anchor="02:30"), start=local(NY, 2024, 3, 10))
    slots = expand(the_order, local(NY, 2024, 3, 10), local(NY, 2024, 3, 11))
    assert slots == [utc(2024, 3, 10, 7, 30), utc(2024, 3, 10, 19, 30)]  # 03:30, 15:30 EDT


def test_every_n_hours_first_dose_is_first_series_point_at_or_after_start() -> None:
    start = local(NY, 2024, 6, 3, 9)
    slots = expand(order(every(6), start=start), start, start + timedelta(hours=12))
    assert slots == [local(NY, 2024, 6, 3, 12), local(NY, 2024, 6, 3, 18)]
    later_anchor = order(every(12, anchor="20:00"), start=start)
    assert expand(later_anchor, start, start + timedelta(days=1)) == [
        local(NY, 2024, 6, 3, 20),
        local(NY, 2024, 6, 4, 8),
    ]
    on_point = order(every(6), start=local(NY, 2024, 6, 3, 12))
    assert expand(on_point, start, start + timedelta(hours=4)) == [local(NY, 2024, 6, 3, 12)]


def test_every_n_hours_series_is_fixed_by_order_start_not_by_query_range() -> None:
    the_order = order(every(5, anchor="03:00"), start=local(NY, 2024, 6, 1, 3))
    far = local(NY, 2024, 6, 20)
    slots = expand(the_order, far, far + timedelta(days=1))
    origin = local(NY, 2024, 6, 1, 3)
    assert slots
    assert all((s - origin) % timedelta(hours=5) == timedelta(0) for s in slots)


# ---- range and order life -----------------------------------------------------------------------
def test_range_is_half_open() -> None:
    at = utc(2024, 6, 3, 12)  # 08:00 EDT
    the_order = order(fixed("08:00"))
    assert expand(the_order, at, at + TICK) == [at]
    assert expand(the_order, at - timedelta(hours=1), at) == []


def test_nothing_before_start_or_at_end_or_discontinuation() -> None:
    at = utc(2024, 6, 3, 12)
    assert expand(order(fixed("08:00"), start=at), utc(2024, 6, 1), utc(2024, 6, 4)) == [at]
    assert expand(order(fixed("08:00"), start=at + TICK), utc(2024, 6, 1), utc(2024, 6, 4)) == []
    ended = order(fixed("08:00"), end=at)
    assert expand(ended, utc(2024, 6, 1), utc(2024, 6, 5)) == [
        utc(2024, 6, 1, 12),
        utc(2024, 6, 2, 12),
    ]
    assert expand(order(fixed("08:00")), utc(2024, 6, 1), utc(2024, 6, 5), discontinued_at=at) == [
        utc(2024, 6, 1, 12),
        utc(2024, 6, 2, 12),
    ]
    assert at in expand(
        order(fixed("08:00")), utc(2024, 6, 1), utc(2024, 6, 5), discontinued_at=at + TICK
    )


def test_held_doses_are_produced_and_marked_held() -> None:
    hold = Interval(utc(2024, 6, 3, 11), utc(2024, 6, 4, 12))  # end exclusive
    the_state = state(order(fixed("08:00")), holds=(hold,))
    doses = dose_statuses(
        the_state,
        [],
        utc(2024, 6, 2),
        utc(2024, 6, 6),
        now=utc(2024, 6, 5, 12),
        facility=facility(),
    )
    assert [(d.scheduled_for.day, d.status) for d in doses] == [
        (2, DoseStatus.MISSED),
        (3, DoseStatus.HELD),
        (4, DoseStatus.MISSED),  # the hold ended exactly at its 08:00: not held
        (5, DoseStatus.DUE),
    ]


def test_prn_produces_no_scheduled_doses() -> None:
    the_state = state(order(prn()))
    assert expand_schedule(the_state, utc(2024, 1, 1), utc(2024, 2, 1), NY) == []
    assert (
        dose_statuses(
            the_state,
            [],
            utc(2024, 1, 1),
            utc(2024, 2, 1),
            now=utc(2024, 1, 15),
            facility=facility(),
        )
        == []
    )


def test_is_scheduled_slot_exact_instant_only() -> None:
    the_state = state(order(fixed("08:00")))
    assert is_scheduled_slot(the_state, utc(2024, 6, 3, 12), NY)
    assert not is_scheduled_slot(the_state, utc(2024, 6, 3, 12, 1), NY)
    assert not is_scheduled_slot(the_state, utc(2024, 6, 3, 12) - TICK, NY)


def test_naive_range_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        expand(order(), utc(2024, 6, 3).replace(tzinfo=None), utc(2024, 6, 4))


# ---- status -------------------------------------------------------------------------------------
SLOT = utc(2024, 6, 3, 12)  # 08:00 EDT, daily order: window 10:00-14:00 UTC, missed after 18:00


def status_at(now: object, records: list | None = None, **kw: object) -> DoseStatus:
    the_state = state(order(fixed("08:00")), **kw)
    [dose] = dose_statuses(
        the_state,
        records or [],
        SLOT,
        SLOT + TICK,
        now=now,
        facility=facility(),  # type: ignore[arg-type]
    )
    return dose.status


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2024, 6, 3, 10) - TICK, DoseStatus.UPCOMING),
        (utc(2024, 6, 3, 10), DoseStatus.DUE),
        (SLOT, DoseStatus.DUE),
        (utc(2024, 6, 3, 14), DoseStatus.DUE),
        (utc(2024, 6, 3, 14) + TICK, DoseStatus.LATE),
        (utc(2024, 6, 3, 18), DoseStatus.LATE),  # default missed_after_minutes = 240
        (utc(2024, 6, 3, 18) + TICK, DoseStatus.MISSED),
    ],
)
def test_status_at_boundary_instants(now: object, expected: DoseStatus) -> None:
    assert status_at(now) is expected


def test_default_missed_after_is_four_hours() -> None:
    assert FacilitySettings().missed_after_minutes == 240


def test_missed_after_zero_goes_straight_from_due_to_missed() -> None:
    the_state = state(order(fixed("08:00")))
    fac = facility(missed_after_minutes=0)
    [at_end] = dose_statuses(
        the_state, [], SLOT, SLOT + TICK, now=utc(2024, 6, 3, 14), facility=fac
    )
    [after] = dose_statuses(
        the_state, [], SLOT, SLOT + TICK, now=utc(2024, 6, 3, 14) + TICK, facility=fac
    )
    assert (at_end.status, after.status) == (DoseStatus.DUE, DoseStatus.MISSED)


def test_window_and_ids_carried_on_each_dose() -> None:
    the_state = state(order(fixed("08:00")))
    [dose] = dose_statuses(the_state, [], SLOT, SLOT + TICK, now=SLOT, facility=facility())
    assert (dose.window_start, dose.window_end) == (utc(2024, 6, 3, 10), utc(2024, 6, 3, 14))
    assert (dose.order_id, dose.resident_id, dose.record) == ("ord-1", "res-1", None)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome.GIVEN, DoseStatus.GIVEN),
        (Outcome.REFUSED, DoseStatus.REFUSED),
        (Outcome.HELD, DoseStatus.HELD),
        (Outcome.NOT_AVAILABLE, DoseStatus.NOT_GIVEN),
        (Outcome.AWAY, DoseStatus.NOT_GIVEN),
        (Outcome.OTHER, DoseStatus.NOT_GIVEN),
    ],
)
def test_record_outcome_decides_status_whatever_the_time(
    outcome: Outcome, expected: DoseStatus
) -> None:
    rec = record(SLOT, outcome)
    for now in (SLOT - timedelta(hours=5), SLOT, SLOT + timedelta(days=3)):
        assert status_at(now, [rec]) is expected


def test_record_must_match_scheduled_time_exactly_and_order() -> None:
    off = record(SLOT + timedelta(minutes=1))
    other_order = record(SLOT, order_id="ord-2")
    prn_record = record(None, administered_at=SLOT)
    assert status_at(SLOT, [off, other_order, prn_record]) is DoseStatus.DUE


def test_voided_only_record_is_actionable_then_voided() -> None:
    voided = record(SLOT, voided=True)
    the_state = state(order(fixed("08:00")))
    for now, expected, rec in [
        (SLOT - timedelta(hours=3), DoseStatus.UPCOMING, None),
        (SLOT, DoseStatus.DUE, None),
        (utc(2024, 6, 3, 17), DoseStatus.LATE, None),
        (utc(2024, 6, 3, 18) + TICK, DoseStatus.VOIDED, voided),
    ]:
        [dose] = dose_statuses(the_state, [voided], SLOT, SLOT + TICK, now=now, facility=facility())
        assert (dose.status, dose.record) == (expected, rec)


def test_valid_record_beside_voided_one_decides() -> None:
    voided = record(SLOT, Outcome.GIVEN, voided=True)
    refused = record(SLOT, Outcome.REFUSED, recorded_at=SLOT + timedelta(minutes=10))
    assert status_at(SLOT + timedelta(days=1), [voided, refused]) is DoseStatus.REFUSED


def test_given_wins_over_other_outcomes_of_the_same_dose() -> None:
    refused = record(SLOT, Outcome.REFUSED, recorded_at=SLOT)
    given = record(SLOT, Outcome.GIVEN, recorded_at=SLOT + timedelta(minutes=30))
    later_other = record(SLOT, Outcome.OTHER, recorded_at=SLOT + timedelta(hours=1))
    assert deciding_record([refused, given, later_other]) is given
    assert deciding_record([refused, later_other]) is later_other
    assert deciding_record([record(SLOT, voided=True)]) is None


def test_record_off_the_schedule_is_never_hidden() -> None:
    # The order was discontinued effective 07:00 after the 08:00 dose had been charted.
    the_state = state(order(fixed("08:00")), discontinued_at=SLOT - timedelta(hours=1))
    given = record(SLOT)
    voided = record(SLOT + timedelta(days=1), Outcome.REFUSED, voided=True)
    outside = record(SLOT + timedelta(days=5))
    doses = dose_statuses(
        the_state,
        [given, voided, outside],
        SLOT - timedelta(days=1),
        SLOT + timedelta(days=2),
        now=SLOT,
        facility=facility(),
    )
    assert [(d.scheduled_for, d.status, d.record) for d in doses] == [
        (SLOT - timedelta(days=1), DoseStatus.MISSED, None),
        (SLOT, DoseStatus.GIVEN, given),
        (SLOT + timedelta(days=1), DoseStatus.VOIDED, voided),  # never actionable
    ]
    assert due_now([the_state], [given, voided], SLOT + timedelta(days=1), facility()) == []


def test_order_hold_gives_held_unless_a_record_says_otherwise() -> None:
    hold = (Interval(SLOT - timedelta(hours=1), None),)
    assert status_at(SLOT, holds=hold) is DoseStatus.HELD
    assert status_at(SLOT + timedelta(days=2), holds=hold) is DoseStatus.HELD
    assert status_at(SLOT, [record(SLOT, voided=True)], holds=hold) is DoseStatus.HELD
    assert status_at(SLOT, [record(SLOT)], holds=hold) is DoseStatus.GIVEN


def test_time_critical_and_frequent_statuses_use_their_windows() -> None:
    fac = facility()
    tc = state(order(fixed("08:00"), time_critical=True))
    [due] = dose_statuses(tc, [], SLOT, SLOT + TICK, now=SLOT + timedelta(minutes=30), facility=fac)
    [late] = dose_statuses(
        tc, [], SLOT, SLOT + TICK, now=SLOT + timedelta(minutes=30) + TICK, facility=fac
    )
    assert (due.status, late.status) == (DoseStatus.DUE, DoseStatus.LATE)
    bid = state(order(fixed("08:00", "20:00")))
    [upcoming] = dose_statuses(
        bid, [], SLOT, SLOT + TICK, now=SLOT - timedelta(minutes=60) - TICK, facility=fac
    )
    assert upcoming.status is DoseStatus.UPCOMING


# ---- due now ------------------------------------------------------------------------------------
def test_due_now_lists_due_and_late_sorted_and_upcoming_on_request() -> None:
    fac = facility()
    now = utc(2024, 6, 3, 13)  # 09:00 EDT
    states = [
        state(order(fixed("08:00"), order_id="a", resident_id="r2")),  # due (window to 10:00)
        state(order(fixed("04:00"), order_id="b", resident_id="r1")),  # late (window to 06:00)
        state(order(fixed("09:00"), order_id="c", resident_id="r1")),  # given
        state(order(fixed("10:30"), order_id="d", resident_id="r1", time_critical=True)),
        state(order(fixed("01:00"), order_id="e", resident_id="r3")),  # missed at 09:00
        state(order(prn(), order_id="f")),
        state(
            order(fixed("08:30"), order_id="g", resident_id="r4"),
            holds=(Interval(utc(2024, 6, 3), None),),
        ),
    ]
    records = [record(utc(2024, 6, 3, 13), order_id="c")]
    doses = due_now(states, records, now, fac)
    assert [(d.order_id, d.status) for d in doses] == [
        ("b", DoseStatus.LATE),
        ("a", DoseStatus.DUE),
    ]
    with_upcoming = due_now(states, records, now, fac, upcoming_within_minutes=90)
    assert [(d.order_id, d.status) for d in with_upcoming] == [
        ("b", DoseStatus.LATE),
        ("a", DoseStatus.DUE),
        ("d", DoseStatus.UPCOMING),  # 10:30 is 90 minutes away: included
    ]
    assert [d.order_id for d in due_now(states, records, now, fac, upcoming_within_minutes=89)] == [
        "b",
        "a",
    ]


def test_due_now_lookback_is_widest_window_plus_grace() -> None:
    settings = FacilitySettings()
    assert due_now_lookback(settings) == timedelta(minutes=120 + 240)


def test_due_now_with_berlin_facility() -> None:
    fac = facility(BERLIN)
    now = local(BER, 2024, 3, 31, 3, 45)  # 02:30 did not exist today: dose at 03:30 CEST
    doses = due_now([state(order(fixed("02:30")))], [], now, fac)
    assert [d.scheduled_for for d in doses] == [local(BER, 2024, 3, 31, 3, 30)]
