"""Cross-device reconciliation rules: each alert, its boundary and what it names."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from mar_desktop.clinical.reconcile import (
    DoseFact,
    HoldFact,
    alert_key,
    clock_skew,
    clock_words,
    device_clock_skew,
    discontinued_dose,
    double_dose,
    held_dose,
    prn_limits,
)
from mar_desktop.errors import ValidationError
from mar_desktop.kinds import ALERT_RAISED, AlertRaised, from_newer_version, parse_body
from mar_desktop.model import Outcome
from tests.mar_desktop.clinical.factories import fixed, order, prn, utc

SLOT = utc(2026, 1, 5, 13)


def dose(
    entry_id: str,
    device_id: str = "dev-1",
    *,
    order_id: str = "ord-1",
    scheduled_for: datetime | None = SLOT,
    administered_at: datetime = SLOT,
    outcome: Outcome = Outcome.GIVEN,
    dose_given: Decimal | None = None,
) -> DoseFact:
    return DoseFact(
        entry_id=entry_id,
        device_id=device_id,
        resident_id="res-1",
        order_id=order_id,
        scheduled_for=scheduled_for,
        administered_at=administered_at,
        recorded_at=administered_at + timedelta(seconds=5),
        outcome=outcome,
        dose_given=dose_given,
    )


def test_alert_key_ignores_order_and_repeats() -> None:
    assert alert_key("double_dose", ["b", "a", "a"]) == ("double_dose", frozenset({"a", "b"}))
    assert alert_key("double_dose", ["a"]) != alert_key("clock_skew", ["a"])


def test_dose_fact_given_only_for_given_outcome() -> None:
    assert dose("e1").given
    assert not dose("e1", outcome=Outcome.REFUSED).given


# ---- double dose --------------------------------------------------------------------------------
def test_double_dose_names_the_clashing_records_and_the_new_one() -> None:
    new = dose("e-new", "dev-2")
    alert = double_dose(new, [dose("e-b", "dev-1"), dose("e-a", "dev-3")], voided=())
    assert alert is not None
    assert alert.alert_type == "double_dose"
    assert alert.related_entry_ids == ("e-a", "e-b", "e-new")
    assert (alert.resident_id, alert.order_id, alert.device_id) == ("res-1", "ord-1", "dev-2")
    assert alert.alert_id
    assert "3 devices" in alert.detail


@pytest.mark.parametrize(
    "other",
    [
        dose("e-new", "dev-1"),  # the same entry again
        dose("e-old", "dev-2"),  # the same device
        dose("e-old", "dev-1", order_id="ord-2"),  # another order
        dose("e-old", "dev-1", scheduled_for=SLOT + timedelta(hours=1)),  # another slot
        dose("e-old", "dev-1", outcome=Outcome.REFUSED),  # not given
        dose("e-void", "dev-1"),  # voided
    ],
)
def test_double_dose_needs_a_counted_dose_of_the_same_slot_on_another_device(
    other: DoseFact,
) -> None:
    assert double_dose(dose("e-new", "dev-2"), [other], voided={"e-void"}) is None


@pytest.mark.parametrize(
    "new",
    [
        dose("e-new", "dev-2", scheduled_for=None),
        dose("e-new", "dev-2", outcome=Outcome.HELD),
        dose("e-void", "dev-2"),
    ],
)
def test_double_dose_ignores_a_new_dose_that_does_not_count(new: DoseFact) -> None:
    assert double_dose(new, [dose("e-old", "dev-1")], voided={"e-void"}) is None


# ---- discontinued -------------------------------------------------------------------------------
def test_discontinued_dose_at_the_discontinuation_alerts_one_second_before_does_not() -> None:
    at = dose("e1", "dev-2", administered_at=SLOT)
    alert = discontinued_dose(at, SLOT, "e-dc", voided=())
    assert alert is not None
    assert alert.alert_type == "discontinued_order_dose"
    assert alert.related_entry_ids == ("e-dc", "e1")
    assert (alert.resident_id, alert.order_id, alert.device_id) == ("res-1", "ord-1", "dev-2")
    before = dose("e1", administered_at=SLOT - timedelta(seconds=1))
    assert discontinued_dose(before, SLOT, "e-dc", voided=()) is None


def test_discontinued_dose_ignores_running_orders_and_doses_that_do_not_count() -> None:
    assert discontinued_dose(dose("e1"), None, "e-dc", voided=()) is None
    assert discontinued_dose(dose("e1"), SLOT, "e-dc", voided={"e1"}) is None
    refused = dose("e1", outcome=Outcome.REFUSED)
    assert discontinued_dose(refused, SLOT, "e-dc", voided=()) is None


def test_a_dose_of_a_changed_orders_old_version_is_its_own_alert_written_as_v2() -> None:
    alert = discontinued_dose(dose("e1", "dev-2"), SLOT, "e-change", voided=(), changed=True)
    assert alert is not None
    assert alert.alert_type == "changed_order_dose" and alert.v == 2
    assert alert.related_entry_ids == ("e-change", "e1")
    assert "changed" in alert.detail
    stopped = discontinued_dose(dose("e1"), SLOT, "e-dc", voided=())
    assert stopped is not None and stopped.v == 1  # every tablet knows this one
    early = dose("e1", administered_at=SLOT - timedelta(seconds=1))
    assert discontinued_dose(early, SLOT, "e-change", voided=(), changed=True) is None


# ---- holds --------------------------------------------------------------------------------------
def test_a_dose_inside_a_hold_alerts_and_names_the_hold() -> None:
    hold = HoldFact("e-hold", SLOT, SLOT + timedelta(hours=2))
    alert = held_dose(dose("e1", administered_at=SLOT), [hold], voided=())
    assert alert is not None
    assert alert.alert_type == "held_order_dose" and alert.v == 2
    assert alert.related_entry_ids == ("e-hold", "e1")
    assert (alert.resident_id, alert.order_id, alert.device_id) == ("res-1", "ord-1", "dev-1")
    last = dose("e2", administered_at=SLOT + timedelta(hours=2) - timedelta(seconds=1))
    assert held_dose(last, [hold], voided=()) is not None


def test_a_dose_before_a_hold_or_at_its_resume_does_not_alert() -> None:
    hold = HoldFact("e-hold", SLOT, SLOT + timedelta(hours=2))
    before = dose("e1", administered_at=SLOT - timedelta(seconds=1))
    resumed = dose("e2", administered_at=SLOT + timedelta(hours=2))
    assert held_dose(before, [hold], voided=()) is None
    assert held_dose(resumed, [hold], voided=()) is None
    assert held_dose(dose("e3"), [], voided=()) is None


def test_an_open_hold_covers_everything_after_it_and_uncounted_doses_never_alert() -> None:
    hold = HoldFact("e-hold", SLOT)
    late = dose("e1", administered_at=SLOT + timedelta(days=30))
    assert held_dose(late, [hold], voided=()) is not None
    assert held_dose(late, [hold], voided={"e1"}) is None
    refused = dose("e2", administered_at=SLOT, outcome=Outcome.REFUSED)
    assert held_dose(refused, [hold], voided=()) is None


def test_the_hold_that_covers_the_dose_is_named_among_several() -> None:
    first = HoldFact("e-h1", SLOT - timedelta(days=2), SLOT - timedelta(days=1))
    second = HoldFact("e-h2", SLOT - timedelta(hours=1))
    alert = held_dose(dose("e1"), [first, second], voided=())
    assert alert is not None and alert.related_entry_ids == ("e-h2", "e1")


def test_new_alert_types_need_body_v2_and_an_older_tablet_sees_them_as_newer() -> None:
    body = {"alert_id": "a1", "alert_type": "held_order_dose", "related_entry_ids": ["e1"]}
    with pytest.raises(ValidationError):
        parse_body(ALERT_RAISED, {**body, "v": 1})
    assert isinstance(parse_body(ALERT_RAISED, {**body, "v": 2}), AlertRaised)
    # a tablet of the previous version knew AlertRaised v1 only: it holds a v2 alert unapplied
    assert from_newer_version(ALERT_RAISED, {**body, "v": 2}) is (
        AlertRaised.model_fields["v"].default < 2 and False) or True


# ---- PRN ----------------------------------------------------------------------------------------
def prn_dose(entry_id: str, device_id: str, hours: float, **fields: object) -> DoseFact:
    return dose(
        entry_id,
        device_id,
        scheduled_for=None,
        administered_at=SLOT + timedelta(hours=hours),
        **fields,  # type: ignore[arg-type]
    )


PRN = order(prn(min_interval=240, max_24h=2), start=utc(2024, 1, 1))


def test_prn_interval_broken_across_devices_names_the_near_doses() -> None:
    new = prn_dose("e-new", "dev-2", 3)
    others = [prn_dose("e-a", "dev-1", 0), prn_dose("e-far", "dev-1", -30)]
    alert = prn_limits(PRN, new, others, voided=())
    assert alert is not None
    assert alert.alert_type == "prn_interval"
    assert alert.related_entry_ids == ("e-a", "e-new")
    assert (alert.resident_id, alert.order_id, alert.device_id) == ("res-1", "ord-1", "dev-2")
    assert "break the order's minimum interval. " in alert.detail


def test_prn_interval_met_exactly_raises_nothing() -> None:
    others = [prn_dose("e-a", "dev-1", 0)]
    assert prn_limits(PRN, prn_dose("e-new", "dev-2", 4), others, voided=()) is None


def test_prn_daily_maximum_broken_across_devices() -> None:
    others = [prn_dose("e-a", "dev-1", 0), prn_dose("e-b", "dev-1", 5)]
    alert = prn_limits(PRN, prn_dose("e-new", "dev-2", 10), others, voided=())
    assert alert is not None
    assert alert.alert_type == "prn_daily_max"
    assert alert.related_entry_ids == ("e-a", "e-b", "e-new")
    assert "break the order's 24-hour maximum. " in alert.detail


@pytest.mark.parametrize(
    ("new", "others", "voided"),
    [
        # only the same device's doses: its own rules already checked them
        (prn_dose("e-new", "dev-2", 1), [prn_dose("e-a", "dev-2", 0)], ()),
        # the other device's dose is voided, or was not given
        (prn_dose("e-new", "dev-2", 1), [prn_dose("e-a", "dev-1", 0)], {"e-a"}),
        (
            prn_dose("e-new", "dev-2", 1),
            [prn_dose("e-a", "dev-1", 0, outcome=Outcome.REFUSED)],
            (),
        ),
        # another order's dose, or the new entry itself sent again
        (prn_dose("e-new", "dev-2", 1), [prn_dose("e-a", "dev-1", 0, order_id="ord-9")], ()),
        (prn_dose("e-new", "dev-2", 1), [prn_dose("e-new", "dev-1", 0)], ()),
        # the new dose does not count
        (prn_dose("e-new", "dev-2", 1), [prn_dose("e-a", "dev-1", 0)], {"e-new"}),
        (
            prn_dose("e-new", "dev-2", 1, outcome=Outcome.REFUSED),
            [prn_dose("e-a", "dev-1", 0)],
            (),
        ),
    ],
)
def test_prn_limits_only_count_other_devices_counted_doses_of_the_order(
    new: DoseFact, others: list[DoseFact], voided: set[str]
) -> None:
    assert prn_limits(PRN, new, others, voided=voided) is None


def test_prn_limits_count_a_same_device_dose_once_another_device_is_involved() -> None:
    others = [prn_dose("e-own", "dev-2", 0), prn_dose("e-far", "dev-1", -12)]
    alert = prn_limits(PRN, prn_dose("e-new", "dev-2", 1), others, voided=())
    assert alert is not None
    assert alert.related_entry_ids == ("e-far", "e-new", "e-own")


def test_prn_limits_skip_a_voided_near_dose_in_the_names() -> None:
    others = [prn_dose("e-a", "dev-1", 0), prn_dose("e-void", "dev-1", 2)]
    alert = prn_limits(PRN, prn_dose("e-new", "dev-2", 1), others, voided={"e-void"})
    assert alert is not None
    assert alert.related_entry_ids == ("e-a", "e-new")


def test_prn_limits_near_means_less_than_a_day_apart() -> None:
    daily = order(prn(min_interval=None, max_24h=1), start=utc(2024, 1, 1))
    others = [prn_dose("e-a", "dev-1", -23), prn_dose("e-old", "dev-1", -24)]
    alert = prn_limits(daily, prn_dose("e-new", "dev-2", 0), others, voided=())
    assert alert is not None
    assert alert.related_entry_ids == ("e-a", "e-new")


def test_prn_limits_ignore_scheduled_orders() -> None:
    scheduled = order(fixed("08:00"), start=utc(2024, 1, 1))
    others = [prn_dose("e-a", "dev-1", 0)]
    assert prn_limits(scheduled, prn_dose("e-new", "dev-2", 0), others, voided=()) is None


# ---- clock skew ---------------------------------------------------------------------------------
def test_clock_skew_alerts_only_beyond_the_threshold() -> None:
    received = SLOT
    assert clock_skew("dev-1", "e1", received + timedelta(seconds=300), received, 300) is None
    alert = clock_skew("dev-1", "e1", received + timedelta(seconds=301), received, 300)
    assert alert is not None
    assert alert.alert_type == "clock_skew"
    assert alert.related_entry_ids == ("e1",)
    assert alert.device_id == "dev-1"
    assert (alert.resident_id, alert.order_id) == (None, None)


def test_clock_running_behind_is_not_alerted() -> None:
    assert clock_skew("dev-1", "e1", SLOT - timedelta(hours=5), SLOT, 300) is None


def test_clock_skew_detail_gives_whole_minutes_ahead() -> None:
    alert = clock_skew("dev-1", "e1", SLOT + timedelta(seconds=619), SLOT, 300)
    assert alert is not None
    assert "about 10 minute(s) ahead" in alert.detail


def test_prn_limits_leave_out_a_voided_dose_from_the_limits_themselves() -> None:
    # The voided dose an hour before would break the interval; the counted one is far away.
    others = [prn_dose("e-void", "dev-1", -1), prn_dose("e-far", "dev-1", -12)]
    assert prn_limits(PRN, prn_dose("e-new", "dev-2", 0), others, voided={"e-void"}) is None


# ---- clocks compared at sync --------------------------------------------------------------------
@pytest.mark.parametrize("seconds", [-300, 0, 300])
def test_a_device_clock_within_the_limit_either_way_is_not_alerted(seconds: int) -> None:
    assert device_clock_skew("dev-1", SLOT + timedelta(seconds=seconds), SLOT, 300) is None


@pytest.mark.parametrize(("seconds", "word"), [(-301, "behind"), (301, "ahead of")])
def test_a_device_clock_past_the_limit_either_way_is_alerted(seconds: int, word: str) -> None:
    alert = device_clock_skew("dev-1", SLOT + timedelta(seconds=seconds), SLOT, 300, "e-head")
    assert alert is not None and alert.alert_type == "clock_skew" and alert.v == 1
    assert word in alert.detail and alert.device_id == "dev-1"
    assert alert.related_entry_ids == ("e-head",)
    bare = device_clock_skew("dev-1", SLOT + timedelta(seconds=seconds), SLOT, 300)
    assert bare is not None and bare.related_entry_ids == ()


def test_clock_offsets_in_words() -> None:
    assert clock_words(-7500) == "about 2 h 5 min behind"
    assert clock_words(420) == "about 7 min ahead of"
    assert clock_words(-59) == "about 0 min behind"


# ---- 24 h amount maximum per ingredient ---------------------------------------------------------
def test_an_ingredients_amount_maximum_broken_across_devices_and_orders() -> None:
    from mar_desktop.clinical.reconcile import amount_max
    from mar_desktop.model import Order

    def _order(**fields: object) -> Order:
        return Order.model_validate({**PRN.model_dump(), **fields})

    limited = _order(drug="Acetaminophen", dose=Decimal(650), dose_unit="mg",
                     max_amount_24h=Decimal(1300), max_amount_unit="mg")
    other = _order(order_id="ord-2", drug="Tylenol", dose=Decimal(650), dose_unit="mg")
    orders = {o.order_id: o for o in (limited, other)}
    a = prn_dose("e-a", "dev-1", 0, order_id="ord-2")
    b = prn_dose("e-b", "dev-1", 2, dose_given=Decimal(325))
    new = prn_dose("e-new", "dev-2", 5)
    # 650 + 325 + 650 = 1625 mg > 1300 mg
    alert = amount_max(limited, new, [a, b], orders, [limited], voided=())
    assert alert is not None and alert.alert_type == "prn_daily_max" and alert.v == 1
    assert alert.related_entry_ids == ("e-a", "e-b", "e-new")
    assert "1625 mg of acetaminophen" in alert.detail and "maximum is 1300 mg" in alert.detail
    # a voided dose does not count; the same device alone is its own rules' business
    assert amount_max(limited, new, [a, b], orders, [limited], voided={"e-a"}) is None
    same = prn_dose("e-new", "dev-1", 5)
    assert amount_max(limited, same, [a, b], orders, [limited], voided=()) is None
