"""The 24-hour amount maximum per ingredient, across the resident's orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from mar_desktop.clinical.daily_max import check_amount_max, ingredient_of
from mar_desktop.errors import RuleViolation
from mar_desktop.model import Order
from mar_desktop.views import AdministrationRecord
from tests.mar_desktop.clinical import factories as f

T = f.utc(2024, 3, 1, 12)


def _order(**fields: Any) -> Order:
    return Order.model_validate({**f.order().model_dump(), **fields})


PRN = _order(
    order_id="prn", drug="Acetaminophen", strength="325 mg", form="tablet", dose=D(650),
    dose_unit="mg", schedule=f.prn(max_24h=None), max_amount_24h=D(3), max_amount_unit="g",
)
SCHEDULED = _order(
    order_id="sched", drug="Tylenol", strength="500 mg", form="tablet", dose=D(2),
    dose_unit="tablet",
)
OTHER = _order(order_id="other", drug="Ibuprofen", dose=D(400), dose_unit="mg")
ORDERS = {o.order_id: o for o in (PRN, SCHEDULED, OTHER)}


def given(order: Order, hours_ago: float, **fields: Any) -> AdministrationRecord:
    return f.record(
        None, order_id=order.order_id, administered_at=T - timedelta(hours=hours_ago),
        dose_given=fields.pop("dose_given", order.dose), **fields,
    )


def refused(code: str, *args: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        check_amount_max(*args)
    assert caught.value.code == code
    return caught.value


def test_ingredient_from_the_drug_name_or_the_order() -> None:
    assert ingredient_of(PRN) == "acetaminophen"
    assert ingredient_of(SCHEDULED) == "acetaminophen"  # brand name read as its generic
    assert ingredient_of(_order(drug="X", ingredient="Acetaminophen")) == "acetaminophen"


def test_exactly_the_maximum_is_allowed_one_mg_more_is_refused() -> None:
    # 2 × 1 g scheduled (2 tablets of 500 mg) = 2 g, + 350 mg PRN earlier = 2.35 g; + 650 = 3 g
    scheduled = [given(SCHEDULED, 20), given(SCHEDULED, 16)]
    check_amount_max(PRN, D(650), T, ORDERS, [*scheduled, given(PRN, 10, dose_given=D(350))])
    records = [*scheduled, given(PRN, 10, dose_given=D(351))]
    err = refused("prn_amount_max", PRN, D(650), T, ORDERS, records)
    assert "3.001 g of acetaminophen" in str(err) and "maximum is 3 g" in str(err)


def test_both_orders_count_together_whichever_is_given() -> None:
    records = [given(PRN, 2), given(PRN, 8), given(PRN, 14)]  # 1.95 g
    check_amount_max(SCHEDULED, D(2), T, ORDERS, records)  # + 1 g = 2.95 g
    records.append(given(PRN, 20))  # 2.6 g
    err = refused("prn_amount_max", SCHEDULED, D(2), T, ORDERS, records)
    assert "3.6 g" in str(err)


def test_voided_doses_other_ingredients_and_doses_24_hours_old_do_not_count() -> None:
    full = [given(PRN, h) for h in (1, 5, 9, 13)]  # 2.6 g
    refused("prn_amount_max", PRN, D(650), T, ORDERS, full)
    voided = [*full[:3], given(PRN, 13, voided=True), given(OTHER, 3)]
    check_amount_max(PRN, D(650), T, ORDERS, voided)
    aged = [*full[:3], given(PRN, 24)]  # exactly 24 h before: outside (t − 24 h, t]
    check_amount_max(PRN, D(650), T, ORDERS, aged)
    refused("prn_amount_max", PRN, D(650), T, ORDERS, [*full[:3], given(PRN, 23.99)])


def test_a_late_entry_counts_against_later_doses() -> None:
    later = [given(PRN, -h) for h in (1, 5, 9, 13)]  # four doses after the new one's time
    refused("prn_amount_max", PRN, D(650), T, ORDERS, later)


def test_a_partial_dose_counts_what_was_taken() -> None:
    records = [given(PRN, h) for h in (1, 5, 9)] + [given(PRN, 13, dose_given=D(325))]
    check_amount_max(PRN, D(650), T, ORDERS, records)  # 1.95 + 0.325 + 0.65 = 2.925 g


def test_a_dose_that_cannot_be_counted_refuses_rather_than_guessing() -> None:
    combo = _order(
        order_id="combo", drug="Hydrocodone-acetaminophen", dose=D(1), dose_unit="tablet"
    )
    orders = {**ORDERS, "combo": combo}
    err = refused("amount_max_unknown", PRN, D(650), T, orders, [given(combo, 2)])
    assert "pharmacist" in str(err)


def test_no_maximum_no_check() -> None:
    plain = {o.order_id: o for o in (SCHEDULED, OTHER)}
    check_amount_max(SCHEDULED, D(2), T, plain, [given(SCHEDULED, h) for h in range(1, 20)])


def test_the_lowest_of_two_maxima_applies() -> None:
    tight = _order(
        order_id="tight", drug="Acetaminophen", dose=D(500), dose_unit="mg",
        max_amount_24h=D(2000), max_amount_unit="mg",
    )
    orders = {**ORDERS, "tight": tight}
    records = [given(PRN, 1), given(PRN, 5)]  # 1.3 g + 0.65 = 1.95 g: under both
    check_amount_max(PRN, D(650), T, orders, records)
    err = refused("prn_amount_max", PRN, D(650), T, orders, [*records, given(PRN, 9)])
    assert "maximum is 2000 mg" in str(err)
