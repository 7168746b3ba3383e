"""Schedule branches that ``test_schedule.py`` leaves open: ``due_now`` with PRN orders among the
scheduled ones, orders that start, end or are discontinued near now next to orders with the same
times, orders of different window classes, a facility with zero-width windows, the lookback of
each window setting, doses charted at odd times, and a day that a time zone skipped."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from mar_desktop.clinical.schedule import (
    deciding_record,
    dose_statuses,
    due_now,
    due_now_lookback,
    expand_schedule,
)
from mar_desktop.model import DoseStatus, FacilitySettings, Outcome
from mar_desktop.views import OrderState
from tests.mar_desktop.clinical import factories
from tests.mar_desktop.clinical.factories import NY, facility, fixed, local, order, state

NOW = local(NY, 2026, 1, 5, 13)  # 13:00 local
FAC = facility()
MINUTE = timedelta(minutes=1)


def due(states: list[OrderState], now: object = NOW, **kw: object) -> list[tuple[str, object]]:
    doses = due_now(states, [], now, kw.pop("fac", FAC), **kw)  # type: ignore[arg-type]
    return [(d.order_id, d.status) for d in doses]


def test_a_prn_order_listed_first_does_not_hide_the_scheduled_ones() -> None:
    states = [
        state(order(factories.prn(), order_id="prn")),
        state(order(fixed("12:00"), order_id="a")),
    ]
    assert due(states) == [("a", DoseStatus.DUE)]


@pytest.mark.parametrize(
    "late_one",
    [
        # starts after the 12:00 dose: it never had that dose
        order(fixed("12:00"), order_id="b", start=local(NY, 2026, 1, 5, 12, 30)),
        # ended, or discontinued, before the 12:00 dose
        order(fixed("12:00"), order_id="b", end=local(NY, 2026, 1, 5, 11)),
    ],
)
def test_orders_with_the_same_times_share_nothing_when_one_does_not_run_throughout(
    late_one: object,
) -> None:
    always = state(order(fixed("12:00"), order_id="a"))
    other = state(late_one)  # type: ignore[arg-type]
    assert due([always, other]) == [("a", DoseStatus.DUE)]
    assert due([other, always]) == [("a", DoseStatus.DUE)]


def test_a_discontinued_order_shares_nothing_with_a_running_one() -> None:
    always = state(order(fixed("12:00"), order_id="a"))
    stopped = state(order(fixed("12:00"), order_id="b"), discontinued_at=local(NY, 2026, 1, 5, 11))
    assert due([always, stopped]) == [("a", DoseStatus.DUE)]
    assert due([stopped, always]) == [("a", DoseStatus.DUE)]


def test_orders_of_different_window_classes_keep_their_own_ranges() -> None:
    # At 08:00 the daily 09:00 dose is due (window 07:00-11:00); the time-critical one is not
    # (08:30-09:30). At 17:00 the daily 12:00 dose is late (until 18:00); the time-critical
    # one has been missed since 16:30.
    critical = state(order(fixed("09:00", "12:00"), order_id="a", time_critical=True))
    daily = state(order(fixed("09:00"), order_id="b"))
    for states in ([critical, daily], [daily, critical]):
        assert due(states, local(NY, 2026, 1, 5, 8)) == [("b", DoseStatus.DUE)]
    noon_critical = state(order(fixed("12:00"), order_id="a", time_critical=True))
    noon_daily = state(order(fixed("12:00"), order_id="b"))
    for states in ([noon_critical, noon_daily], [noon_daily, noon_critical]):
        assert due(states, local(NY, 2026, 1, 5, 17)) == [("b", DoseStatus.LATE)]


def test_series_with_different_anchors_keep_their_own_times() -> None:
    at_zero = state(order(factories.every(6, "00:00"), order_id="a"))
    at_three = state(order(factories.every(6, "03:00"), order_id="b"))
    found = due_now([at_zero, at_three], [], local(NY, 2026, 1, 5, 12), FAC)
    assert [(d.order_id, d.scheduled_for) for d in found] == [
        ("b", local(NY, 2026, 1, 5, 9)),
        ("a", local(NY, 2026, 1, 5, 12)),
    ]


ZERO = facility(window_time_critical_minutes=0, window_frequent_minutes=0, window_daily_minutes=0)


def test_with_zero_width_windows_nothing_upcoming_is_listed_unless_asked() -> None:
    the_state = state(order(fixed("13:01")))
    assert due([the_state], fac=ZERO) == []
    assert due([the_state], fac=ZERO, upcoming_within_minutes=1) == [("ord-1", DoseStatus.UPCOMING)]
    assert due([the_state], fac=ZERO, upcoming_within_minutes=-5) == []


def test_a_dose_given_at_the_very_start_of_the_lookback_is_not_listed_late() -> None:
    # Daily window 2 h, late for 4 h more: the 07:00 dose is late until exactly 13:00.
    the_state = state(order(fixed("07:00")))
    slot = local(NY, 2026, 1, 5, 7)
    assert NOW - due_now_lookback(FAC.settings) == slot
    assert due([the_state]) == [("ord-1", DoseStatus.LATE)]
    given = factories.record(slot, Outcome.GIVEN)
    assert due_now([the_state], [given], NOW, FAC) == []


@pytest.mark.parametrize(
    ("settings", "minutes"),
    [
        ({"window_time_critical_minutes": 200}, 200 + 240),
        ({"window_frequent_minutes": 210}, 210 + 240),
        ({"window_daily_minutes": 100}, 100 + 240),
        ({"missed_after_minutes": 10}, 120 + 10),
    ],
)
def test_lookback_uses_the_widest_window_whichever_it_is(
    settings: dict[str, int], minutes: int
) -> None:
    assert due_now_lookback(FacilitySettings(**settings)) == timedelta(minutes=minutes)


def test_a_dose_charted_at_an_odd_time_gets_a_dose_of_its_own_inside_the_range_only() -> None:
    the_state = state(order(fixed("08:00"), resident_id="res-1"))
    start, end = local(NY, 2026, 1, 5, 9), local(NY, 2026, 1, 5, 10)
    at_start = factories.record(start, Outcome.REFUSED)
    at_end = factories.record(end, Outcome.REFUSED)
    doses = dose_statuses(the_state, [at_start, at_end], start, end, now=NOW, facility=FAC)
    assert len(doses) == 1
    dose = doses[0]
    assert (dose.order_id, dose.resident_id, dose.scheduled_for) == ("ord-1", "res-1", start)
    assert (dose.window_start, dose.window_end) == (start - 2 * 60 * MINUTE, start + 120 * MINUTE)
    assert (dose.status, dose.record) == (DoseStatus.REFUSED, at_start)


def test_a_day_the_zone_skipped_gives_no_duplicate_dose() -> None:
    # Samoa skipped 30 December 2011: its 08:00 falls on the instant of 31 December 08:00.
    apia = ZoneInfo("Pacific/Apia")
    the_state = state(order(fixed("08:00"), start=factories.utc(2011, 12, 1)))
    slots = expand_schedule(the_state, factories.utc(2011, 12, 29), factories.utc(2012, 1, 1), apia)
    assert slots == [
        factories.utc(2011, 12, 29, 18),
        factories.utc(2011, 12, 30, 18),
        factories.utc(2011, 12, 31, 18),
    ]


def test_two_orders_that_do_not_run_throughout_share_nothing() -> None:
    starts_late = state(order(fixed("12:00"), order_id="b", start=local(NY, 2026, 1, 5, 12, 30)))
    ends_soon = state(order(fixed("12:00"), order_id="c", end=local(NY, 2026, 1, 5, 14)))
    assert due([starts_late, ends_soon]) == [("c", DoseStatus.DUE)]
    assert due([ends_soon, starts_late]) == [("c", DoseStatus.DUE)]


def test_window_classes_with_the_same_times_and_horizon_keep_their_own_ranges() -> None:
    # Asked 3 h ahead, both classes' ranges end at the same instant but start apart.
    critical = state(order(fixed("12:00"), order_id="a", time_critical=True))
    daily = state(order(fixed("12:00"), order_id="b"))
    at = local(NY, 2026, 1, 5, 17)
    for states in ([critical, daily], [daily, critical]):
        assert due(states, at, upcoming_within_minutes=180) == [("b", DoseStatus.LATE)]


def test_series_started_either_side_of_a_clock_change_keep_their_own_times() -> None:
    # q6h from local midnight: in winter 05:00 UTC and every 6 h, in summer 04:00 UTC.
    winter = state(order(factories.every(6), order_id="a", start=local(NY, 2026, 1, 1)))
    summer = state(order(factories.every(6), order_id="b", start=local(NY, 2026, 7, 1)))
    now = factories.utc(2026, 7, 2, 10)
    for states in ([winter, summer], [summer, winter]):
        found = due_now(states, [], now, FAC)
        assert [(d.order_id, d.scheduled_for) for d in found] == [
            ("a", factories.utc(2026, 7, 2, 5)),  # late until 10:00
            ("b", factories.utc(2026, 7, 2, 10)),
            ("a", factories.utc(2026, 7, 2, 11)),
        ]


def test_a_dose_charted_at_an_odd_time_with_only_voided_records_shows_the_last_recorded() -> None:
    the_state = state(order(fixed("08:00")))
    odd = local(NY, 2026, 1, 5, 9)
    first = factories.record(odd, recorded_at=odd + MINUTE, voided=True)
    last = factories.record(odd, recorded_at=odd + 5 * MINUTE, voided=True)
    middle = factories.record(odd, recorded_at=odd + 2 * MINUTE, voided=True)
    doses = dose_statuses(
        the_state, [first, last, middle], odd, odd + MINUTE, now=NOW, facility=FAC
    )
    assert [(d.status, d.record) for d in doses] == [(DoseStatus.VOIDED, last)]


def test_a_series_leaves_out_a_slot_at_the_end_or_the_discontinuation() -> None:
    midnight = local(NY, 2026, 1, 5)
    q6h = order(factories.every(6), start=local(NY, 2026, 1, 1))
    noon = midnight + timedelta(hours=12)
    expected = [midnight, midnight + timedelta(hours=6)]
    assert expand_schedule(state(q6h), midnight, noon, NY) == expected
    stopped = state(q6h, discontinued_at=noon)
    assert expand_schedule(stopped, midnight, midnight + timedelta(days=1), NY) == expected


def test_of_two_given_records_the_first_recorded_decides() -> None:
    slot = local(NY, 2026, 1, 5, 8)
    later = factories.record(slot, recorded_at=slot + 5 * MINUTE)
    first = factories.record(slot, recorded_at=slot + MINUTE)
    assert deciding_record([later, first]) is first
    assert deciding_record([first, later]) is first
