"""Dose ranges, sliding scales and partial doses: each rule at its boundary."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from pydantic import ValidationError

from mar_desktop.clinical.dose import (
    amount_in_unit,
    check_dose,
    check_partial,
    describe_dose,
    scale_dose,
)
from mar_desktop.errors import RuleViolation
from mar_desktop.model import Order, SlidingScaleRow
from tests.mar_desktop.clinical import factories as f


def ranged(**fields: Any) -> Order:
    base: dict[str, Any] = {
        "drug": "Acetaminophen",
        "strength": "325 mg",
        "form": "tablet",
        "dose": D(325),
        "dose_max": D(650),
        "dose_unit": "mg",
        "route": "oral",
    }
    base.update(fields)
    return _order(**base)


def _order(**fields: Any) -> Order:
    """An order of the clinical factory with every field given here validated together."""
    return Order.model_validate({**f.order().model_dump(), **fields})


ROWS = (
    SlidingScaleRow(glucose_min=D(0), glucose_max=D(150), dose=D(0)),
    SlidingScaleRow(glucose_min=D(151), glucose_max=D(200), dose=D(2)),
    SlidingScaleRow(glucose_min=D(201), glucose_max=D(250), dose=D(4)),
    SlidingScaleRow(glucose_min=D(251), glucose_max=D(350), dose=D(6)),
)


def insulin() -> Order:
    return _order(
        drug="Insulin lispro", sliding_scale=ROWS, dose=D(6), dose_unit="units",
        route="subcutaneous",
    )


def refused(code: str, fn: Any, *args: Any, **kw: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        fn(*args, **kw)
    assert caught.value.code == code
    return caught.value


# ---- ranges --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "unit", "expected"),
    [("325", None, D(325)), ("650", None, D(650)), ("500", "mg", D(500)), ("0.65", "g", D(650)),
     ("1", "tablet", D(325)), ("2", "tablets", D(650)), ("1.5", "tablet", D("487.5"))],
)
def test_a_range_takes_any_amount_inside_it_both_ends_included(
    typed: str, unit: str | None, expected: D
) -> None:
    assert check_dose(ranged(), typed, unit) == expected


@pytest.mark.parametrize(
    ("typed", "unit"),
    [("324", None), ("324.9999", None), ("651", None), ("650.0001", None), ("6500", None),
     ("3", "tablets"), ("0.651", "g"), ("0.5", "tablet")],
)
def test_a_range_refuses_just_outside_it(typed: str, unit: str | None) -> None:
    err = refused("dose_mismatch", check_dose, ranged(), typed, unit)
    assert "325–650 mg" in str(err) and err.field == "dose"


def test_a_range_in_tablets_converts_from_mg() -> None:
    tablets = ranged(dose=D(1), dose_max=D(2), dose_unit="tablet")
    assert check_dose(tablets, "650", "mg") == D(2)
    assert check_dose(tablets, "1", None) == D(1)
    refused("dose_mismatch", check_dose, tablets, "975", "mg")
    refused("dose_invalid", check_dose, tablets, "0")
    refused("dose_invalid", check_dose, tablets, "-1")
    refused("dose_invalid", check_dose, tablets, "NaN")
    refused("dose_invalid", check_dose, tablets, "1e9")


def test_a_range_with_a_decimal_comma() -> None:
    assert check_dose(ranged(dose=D("2.5"), dose_max=D(5)), "2,5", decimal_comma=True) == D("2.5")


def test_the_confirmation_names_the_amount_chosen() -> None:
    assert describe_dose(ranged(), D(650)) == "Acetaminophen 325 mg tablet × 2 = 650 mg oral"
    assert describe_dose(ranged(), D(325)) == "Acetaminophen 325 mg tablet × 1 = 325 mg oral"
    assert describe_dose(ranged()) == "Acetaminophen 325–650 mg oral"


def test_a_range_must_rise() -> None:
    with pytest.raises(ValidationError):
        ranged(dose_max=D(325))


# ---- sliding scales ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("glucose", "units"),
    [("151", D(2)), ("200", D(2)), ("201", D(4)), ("250", D(4)), ("251", D(6)), ("350", D(6))],
)
def test_the_scale_row_for_the_glucose_is_the_dose_edges_inclusive(glucose: str, units: D) -> None:
    assert scale_dose(insulin(), D(glucose)) == units
    assert check_dose(insulin(), str(units), glucose=D(glucose)) == units


@pytest.mark.parametrize(("glucose", "typed"), [("200", "4"), ("201", "2"), ("300", "60")])
def test_another_amount_than_the_row_is_refused(glucose: str, typed: str) -> None:
    err = refused("dose_mismatch", check_dose, insulin(), typed, glucose=D(glucose))
    assert "sliding scale gives" in str(err)


def test_no_glucose_no_dose() -> None:
    err = refused("glucose_required", check_dose, insulin(), "4")
    assert err.field == "glucose"


@pytest.mark.parametrize("glucose", ["351", "500"])
def test_a_glucose_outside_every_row_says_call_the_prescriber(glucose: str) -> None:
    err = refused("scale_no_row", check_dose, insulin(), "6", glucose=D(glucose))
    assert "call the prescriber" in str(err)


def test_a_row_of_no_dose_refuses_a_given_dose() -> None:
    refused("scale_no_dose", check_dose, insulin(), "2", glucose=D(150))


def test_scale_rows_may_not_overlap() -> None:
    overlapping = (*ROWS, SlidingScaleRow(glucose_min=D(350), glucose_max=D(400), dose=D(8)))
    with pytest.raises(ValidationError):
        _order(sliding_scale=overlapping, dose_unit="units")


def test_the_confirmation_of_a_scale_dose() -> None:
    assert describe_dose(insulin(), D(4)) == "Insulin lispro 4 units subcutaneous"


# ---- partial doses -------------------------------------------------------------------------------
def test_a_partial_dose_is_less_than_the_dose_prepared() -> None:
    order = ranged()
    assert check_partial(order, D(650), "325") == D(325)
    assert check_partial(order, D(650), "649.9999") == D("649.9999")
    for typed in ("650", "651"):
        assert refused("partial_invalid", check_partial, order, D(650), typed).field == "partial"
    for typed in ("0", "-1", "NaN", "1e9", ""):
        assert refused("dose_invalid", check_partial, order, D(650), typed).field == "partial"


def test_amounts_convert_out_of_the_order_unit() -> None:
    tablets = ranged(dose=D(1), dose_max=D(2), dose_unit="tablet")
    assert amount_in_unit(tablets, D(2), "g") == D("0.65")
    assert amount_in_unit(ranged(), D(650), "g") == D("0.65")
    refused("dose_unit", amount_in_unit, ranged(), D(650), "mL")
