"""Branches and boundaries of the clinical rules that ``test_rules.py`` leaves open: PRN timing
at exactly now and exactly 24 h, holds that cover the slot but not the time given, outcomes
other than given, vitals as an object, and the wording that names a limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from mar_desktop.clinical.rules import (
    NOTE_AMEND_WINDOW,
    check_outside_window,
    check_prn_limits,
    evaluate_hold_parameters,
    missing_vitals,
    prn_next_allowed_at,
)
from mar_desktop.errors import RuleViolation
from mar_desktop.model import FacilitySettings, Outcome
from mar_desktop.views import Interval
from tests.mar_desktop.clinical.factories import (
    facility,
    fixed,
    hold,
    order,
    prn,
    state,
    user,
    utc,
)
from tests.mar_desktop.clinical.test_rules import administer, given, violation

SLOT = utc(2024, 6, 3, 12)  # 08:00 EDT
T0 = utc(2024, 6, 3, 8)
HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)
FAC = facility()


# ---- defaults that are module data --------------------------------------------------------------
def test_the_note_amendment_window_is_two_hours() -> None:
    assert timedelta(hours=2) == NOTE_AMEND_WINDOW


@pytest.mark.parametrize(
    ("field", "minutes"),
    [
        ("window_time_critical_minutes", 30),
        ("window_frequent_minutes", 60),
        ("window_daily_minutes", 120),
        ("missed_after_minutes", 240),
        ("prn_followup_minutes", 60),
        ("emergency_access_minutes", 60),
    ],
)
def test_every_window_default(field: str, minutes: int) -> None:
    assert getattr(FacilitySettings(), field) == minutes


# ---- PRN ----------------------------------------------------------------------------------------
def test_prn_next_allowed_counts_a_dose_given_exactly_now() -> None:
    the_order = order(prn(min_interval=240, max_24h=None), order_id="prn-1")
    assert prn_next_allowed_at(the_order, [given(T0)], T0) == T0 + timedelta(hours=4)


def test_prn_next_allowed_ignores_doses_after_now() -> None:
    the_order = order(prn(min_interval=240, max_24h=1), order_id="prn-1")
    assert prn_next_allowed_at(the_order, [given(T0 + HOUR)], T0) is None


def test_prn_next_allowed_waits_for_the_oldest_dose_to_leave_the_day() -> None:
    the_order = order(prn(min_interval=None, max_24h=2), order_id="prn-1")
    doses = [given(T0 - timedelta(hours=20)), given(T0 - timedelta(hours=2))]
    assert prn_next_allowed_at(the_order, doses, T0) == T0 + timedelta(hours=4)


def test_prn_doses_exactly_a_day_after_the_new_one_are_not_its_day() -> None:
    # Late charting put two doses at exactly T0 + 24 h: the day that ends there, (T0, T0 + 24 h],
    # does not hold the new dose, so the new dose does not exceed its maximum of one.
    the_order = order(prn(min_interval=None, max_24h=1), order_id="prn-1")
    check_prn_limits(the_order, [given(T0 + DAY), given(T0 + DAY)], T0)
    with violation("prn_daily_max"):
        check_prn_limits(the_order, [given(T0 + DAY - timedelta(seconds=1))], T0)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(240, "(4 h)"), (90, "(1 h 30 min)"), (45, "(45 min)"), (61, "(1 h 1 min)")],
)
def test_prn_interval_message_names_the_interval(minutes: int, text: str) -> None:
    the_order = order(prn(min_interval=minutes, max_24h=None), order_id="prn-1")
    with pytest.raises(RuleViolation, match=r"\(.*\)") as raised:
        check_prn_limits(the_order, [given(T0)], T0 + timedelta(minutes=1))
    assert text in str(raised.value)


# ---- window -------------------------------------------------------------------------------------
def test_outside_window_message_says_before_or_after() -> None:
    daily = order(fixed("08:00"))
    settings = FacilitySettings()
    with pytest.raises(RuleViolation, match="before its administration window"):
        check_outside_window(daily, SLOT, SLOT - timedelta(hours=3), "", settings)
    with pytest.raises(RuleViolation, match="after its administration window"):
        check_outside_window(daily, SLOT, SLOT + timedelta(hours=3), "", settings)


# ---- holds of the order -------------------------------------------------------------------------
def test_a_hold_over_the_slot_refuses_given_even_when_given_after_the_hold_ends() -> None:
    held = state(
        order(fixed("08:00")), holds=(Interval(SLOT - HOUR, SLOT + 30 * timedelta(minutes=1)),)
    )
    after_hold = SLOT + timedelta(minutes=45)  # inside the 2 h window, after the hold
    with violation("order_held"):
        administer(held, administered_at=after_hold)
    administer(held, administered_at=after_hold, outcome=Outcome.HELD, reason_code="HP")


# ---- outcomes other than given ------------------------------------------------------------------
def test_a_refused_dose_is_not_outside_its_window() -> None:
    result = administer(state(order(fixed("08:00"))), outcome=Outcome.REFUSED, reason_code="R")
    assert result.outside_window is False  # type: ignore[attr-defined]


def test_a_witness_on_another_outcome_must_still_be_someone_else() -> None:
    cii = state(order(fixed("08:00"), drug="Oxycodone", controlled_schedule="II"))
    with violation("witness_same_person"):
        administer(cii, outcome=Outcome.REFUSED, reason_code="R", witness=user("u-nurse"))
    administer(cii, outcome=Outcome.REFUSED, reason_code="R", witness=user("u-witness"))


INSULIN = order(
    fixed("08:00"), drug="Insulin lispro", hold_parameters=(hold("glucose", minimum="70"),)
)


def test_another_outcome_with_incomplete_vitals_evaluates_no_hold() -> None:
    result = administer(
        state(INSULIN), outcome=Outcome.REFUSED, reason_code="R", vitals={"pulse": "60"}
    )
    assert not result.hold.hold  # type: ignore[attr-defined]


# ---- vitals as an object ------------------------------------------------------------------------
@dataclass(frozen=True)
class Taken:
    """Vitals as attributes, without a ``get`` method."""

    glucose: Decimal | None = None


@dataclass(frozen=True)
class PulseOnly:
    pulse: Decimal


def test_vitals_given_as_an_object_with_attributes() -> None:
    assert evaluate_hold_parameters(INSULIN, Taken(Decimal("65"))).hold
    assert not evaluate_hold_parameters(INSULIN, Taken(Decimal("70"))).hold
    assert missing_vitals(INSULIN, Taken()) == ("glucose",)
    assert missing_vitals(INSULIN, PulseOnly(Decimal("60"))) == ("glucose",)
    with violation("vitals_required"):
        evaluate_hold_parameters(INSULIN, PulseOnly(Decimal("60")))
    result = administer(state(INSULIN), vitals=Taken(Decimal("110")))
    assert not result.hold.hold  # type: ignore[attr-defined]
