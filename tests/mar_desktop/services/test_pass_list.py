"""The unit's med pass: late first, then due, then coming up, each in room order; what is done,
missed or outside the pass is counted or left out exactly."""

from __future__ import annotations

from dataclasses import replace

from mar_desktop.model import DoseStatus, Outcome, Resident
from mar_desktop.services.pass_list import build_pass_list, pass_window, room_key
from mar_desktop.views import OrderState, VerificationStatus
from tests.mar_desktop.clinical.factories import (
    NY,
    facility,
    fixed,
    local,
    order,
    prn,
    record,
    state,
)
from tests.mar_desktop.clinical.factories import resident as a_resident

# Windows of ±30 min for every class but time-critical (±10), missed 60 min after the window:
# the pass at 10:00 reaches back to 08:30 (widest window + grace) and ahead to 11:00.
FACILITY = facility(window_time_critical_minutes=10, window_frequent_minutes=30,
                    window_daily_minutes=30, missed_after_minutes=60)
NOW = local(NY, 2026, 3, 2, 10, 0)


def resident(resident_id: str, room: str) -> Resident:
    return a_resident().model_copy(update={"resident_id": resident_id, "room": room})


def daily(order_id: str, resident_id: str, at: str, **fields: object) -> OrderState:
    return state(order(fixed(at), order_id=order_id, resident_id=resident_id, **fields))


def test_late_then_due_then_coming_up_each_in_room_order() -> None:
    residents = [resident("r-12", "12"), resident("r-2", "2"), resident("r-10", "10"),
                 resident("r-101", "101"), resident("r-3", "3")]
    states = [
        daily("o-late", "r-12", "09:00"),  # window 08:30–09:30: late at 10:00
        daily("o-due-2", "r-2", "09:45"),  # window 09:15–10:15: due
        daily("o-due-10", "r-10", "10:00"),  # due
        daily("o-soon", "r-101", "10:45"),  # window opens 10:15: coming up, inside the hour
        daily("o-later", "r-3", "11:30"),  # after the pass: not on it
    ]
    found = build_pass_list(residents, states, [], now=NOW, facility=FACILITY)
    assert [item.order.order_id for item in found.items] == [
        "o-late", "o-due-2", "o-due-10", "o-soon"]
    assert [item.dose.status for item in found.items] == [
        DoseStatus.LATE, DoseStatus.DUE, DoseStatus.DUE, DoseStatus.UPCOMING]
    assert found.remaining == 4 and found.count(DoseStatus.DUE) == 2
    assert (found.done, found.missed) == (0, 0)


def test_documented_doses_are_done_and_leave_the_list() -> None:
    residents = [resident("res-1", "4")]
    given_at = local(NY, 2026, 3, 2, 9, 30)
    states = [daily("ord-1", "res-1", "09:30"), daily("ord-2", "res-1", "09:40")]
    records = [record(given_at, Outcome.GIVEN, order_id="ord-1"),
               record(local(NY, 2026, 3, 2, 9, 40), Outcome.REFUSED, order_id="ord-2")]
    found = build_pass_list(residents, states, records, now=NOW, facility=FACILITY)
    assert found.items == ()
    assert found.done == 2


def test_a_time_critical_dose_past_its_grace_is_missed_not_listed() -> None:
    residents = [resident("res-1", "7")]
    # ±10 min, missed 60 min after 08:50: missed at 10:00, and still inside the pass window
    states = [daily("ord-1", "res-1", "08:40", time_critical=True)]
    found = build_pass_list(residents, states, [], now=NOW, facility=FACILITY)
    assert found.items == ()
    assert found.missed == 1


def test_prn_orders_and_residents_out_of_scope_are_not_on_the_pass() -> None:
    residents = [resident("res-1", "1")]
    states = [state(order(prn(), order_id="ord-prn", resident_id="res-1")),
              daily("ord-other", "res-elsewhere", "10:00")]
    found = build_pass_list(residents, states, [], now=NOW, facility=FACILITY)
    assert found.items == () and found.done == found.missed == 0


def test_the_window_reaches_back_to_the_oldest_dose_that_can_be_late_and_an_hour_ahead() -> None:
    start, end = pass_window(FACILITY, NOW)
    assert (NOW - start).total_seconds() == (30 + 60) * 60
    assert (end - NOW).total_seconds() == 3600


def test_rooms_sort_as_people_read_them() -> None:
    assert sorted(["10", "2", "12A", "12", "B1", "101"], key=room_key) == [
        "2", "10", "12", "12A", "101", "B1"]


def test_an_order_awaiting_verification_is_on_the_pass_and_marked() -> None:
    residents = [resident("res-1", "1"), resident("res-2", "2")]
    awaiting = replace(daily("ord-new", "res-1", "10:00"),
                       verification=VerificationStatus.AWAITING)
    verified = daily("ord-old", "res-2", "10:00")
    found = build_pass_list(residents, [awaiting, verified], [], now=NOW, facility=FACILITY)
    marks = {item.order.order_id: item.awaiting_verification for item in found.items}
    assert marks == {"ord-new": True, "ord-old": False}
