"""The dose is the order's: amounts typed, units converted, each refusal at its boundary."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from mar_desktop.clinical.dose import (
    check_dose,
    describe_dose,
    dose_in_order_unit,
    parse_amount,
    strength_of,
    unit_of,
)
from mar_desktop.errors import RuleViolation
from mar_desktop.model import Order
from tests import factories as f


def order(**fields: Any) -> Order:
    base: dict[str, Any] = {
        "drug": "Acetaminophen",
        "strength": "325 mg",
        "form": "tablet",
        "dose": D(650),
        "dose_unit": "mg",
        "route": "oral",
    }
    base.update(fields)
    return f.order_model("r1", **base)


def refused(code: str, fn: Any, *args: Any, **kw: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        fn(*args, **kw)
    assert caught.value.code == code
    assert caught.value.field == "dose"
    return caught.value


@pytest.mark.parametrize("typed", ["650", "650.0", " 650 ", D("650"), D("650.00")])
def test_the_ordered_dose_passes(typed: Any) -> None:
    assert check_dose(order(), typed) == D(650)


@pytest.mark.parametrize("typed", ["649", "651", "6500", "65", "649.9999", "1000000000"])
def test_any_other_amount_is_refused_naming_the_order(typed: str) -> None:
    err = refused("dose_mismatch", check_dose, order(), typed)
    assert "650 mg" in str(err) and typed in str(err)


@pytest.mark.parametrize(
    "typed",
    ["", "  ", "0", "0.0", "-5", "-650", "NaN", "nan", "inf", "Infinity", "1e9", "6.5e2",
     "abc", "6 50", "650mg", "1.2.3", "0x10", "0.00001", D("NaN"), D("-1"), D(0)],
)
def test_zero_negative_non_numeric_and_exponents_are_refused(typed: Any) -> None:
    refused("dose_invalid", parse_amount, typed)
    refused("dose_invalid", check_dose, order(), typed)


def test_a_decimal_comma_is_read_only_where_the_locale_writes_one() -> None:
    half = order(dose=D("2.5"), dose_unit="mg", strength="2.5 mg")
    assert check_dose(half, "2,5", decimal_comma=True) == D("2.5")
    refused("dose_invalid", check_dose, half, "2,5")
    refused("dose_invalid", parse_amount, "1,000.5", decimal_comma=True)
    assert parse_amount("0.0001") == D("0.0001")


@pytest.mark.parametrize(
    ("amount", "unit"),
    [("650", "mg"), ("0.65", "g"), ("650000", "mcg"), ("2", "tablets"), ("2", "tablet"),
     ("2", "tabs"), ("650", "milligrams")],
)
def test_units_that_convert_to_the_order_are_accepted(amount: str, unit: str) -> None:
    assert check_dose(order(), amount, unit) == D(650)


@pytest.mark.parametrize(("amount", "unit"), [("6.5", "g"), ("3", "tablets"), ("650", "mcg")])
def test_converted_amounts_that_differ_are_refused(amount: str, unit: str) -> None:
    refused("dose_mismatch", check_dose, order(), amount, unit)


@pytest.mark.parametrize("unit", ["mL", "units", "capsules", "U", "IU", "cc", "µg", "spoon"])
def test_units_that_do_not_convert_or_are_error_prone_are_refused(unit: str) -> None:
    refused("dose_unit", check_dose, order(), "650", unit)


def test_an_order_in_tablets_takes_the_strength_amount_too() -> None:
    tabs = order(dose=D(2), dose_unit="tablet")
    assert check_dose(tabs, "2") == D(2)
    assert check_dose(tabs, "650", "mg") == D(2)
    refused("dose_mismatch", check_dose, tabs, "325", "mg")


def test_liquids_convert_through_their_concentration() -> None:
    liquid = order(drug="Oxycodone", strength="5 mg/5 mL", form="solution", dose=D(5),
                   dose_unit="mg")
    assert check_dose(liquid, "5", "mL") == D(5)
    refused("dose_mismatch", check_dose, liquid, "10", "mL")
    per_ml = order(drug="Insulin glargine", strength="100 units/mL", form="solution",
                   dose=D(10), dose_unit="units")
    assert check_dose(per_ml, "0.1", "mL") == D(10)
    assert check_dose(per_ml, "10", "unit") == D(10)


def test_an_order_unit_outside_the_list_accepts_only_itself() -> None:
    odd = order(dose=D(1), dose_unit="scoop", strength="", form="powder")
    assert check_dose(odd, "1") == D(1)
    assert check_dose(odd, "1", "Scoop") == D(1)
    refused("dose_unit", check_dose, odd, "1", "mg")
    with pytest.raises(RuleViolation):
        dose_in_order_unit(order(strength="", form=""), D(2), "tablets")


def test_units_and_strengths_read() -> None:
    assert unit_of("mg") is unit_of("MG") is unit_of("milligram")
    assert unit_of("U") is None and unit_of("cc") is None
    strength = strength_of(order(strength="5 mg/5 mL"))
    assert strength is not None and strength.amount == 1
    assert strength_of(order(strength="about 5 mg")) is None
    assert strength_of(order(strength="5 mg/0 mL")) is None


def test_the_confirmation_says_what_will_be_signed() -> None:
    assert describe_dose(order()) == "Acetaminophen 325 mg tablet × 2 = 650 mg oral"
    assert (
        describe_dose(order(dose=D(2), dose_unit="tablet"))
        == "Acetaminophen 325 mg tablet × 2 = 650 mg oral"
    )
    assert describe_dose(order(dose=D("12.5"), strength="25 mg")) == (
        "Acetaminophen 25 mg tablet × 0.5 = 12.5 mg oral"
    )
    assert describe_dose(order(dose=D(100), strength="30 mg")) == "Acetaminophen 100 mg oral"
    assert describe_dose(order(strength="", form="")) == "Acetaminophen 650 mg oral"


def test_the_confirmation_says_the_route_in_words_whatever_the_order_wrote() -> None:
    assert describe_dose(order(route="PO")).endswith("= 650 mg oral")
    assert describe_dose(order(route="SQ", strength="", form="")) == (
        "Acetaminophen 650 mg subcutaneous"
    )
    assert describe_dose(order(route="26643006", strength="", form="")).endswith("mg oral")
    # A route the list does not know stays as the order wrote it.
    assert describe_dose(order(route="via PEJ", strength="", form="")).endswith("mg via PEJ")


# ---- boundaries the mutation run found unpinned ------------------------------------------------
def test_a_negative_amount_is_named_as_negative() -> None:
    assert "negative" in str(refused("dose_invalid", parse_amount, "-5"))
    assert "negative" in str(refused("dose_invalid", parse_amount, D("-0.5")))


def test_a_decimal_with_an_exponent_from_code_is_read_as_its_value() -> None:
    assert check_dose(order(), D("6.5E+2")) == D(650)


def test_a_strength_whose_unit_is_unknown_is_not_a_strength() -> None:
    assert strength_of(order(strength="5 bananas")) is None
    assert strength_of(order(strength="5 mg/spoon")) is None
    assert strength_of(order(strength="5 mg/2 mL")) is not None


def test_counts_of_a_form_without_a_strength_do_not_convert() -> None:
    no_strength = order(strength="", form="tablet")
    refused("dose_unit", check_dose, no_strength, "2", "tablets")


def test_a_concentration_per_litre_and_litres_given_convert() -> None:
    per_litre = order(drug="Saline", strength="500 mg/L", form="solution", dose=D(5),
                      dose_unit="mg")
    assert check_dose(per_litre, "10", "mL") == D(5)
    refused("dose_mismatch", check_dose, per_litre, "100", "mL")
    liquid = order(drug="Oxycodone", strength="5 mg/5 mL", form="solution", dose=D(5),
                   dose_unit="mg")
    assert check_dose(liquid, "0.005", "L") == D(5)
    in_litres = order(drug="Lactulose", strength="1000 mg/L", form="solution",
                      dose=D("0.005"), dose_unit="L")
    assert check_dose(in_litres, "5", "mg") == D("0.005")
    assert check_dose(order(drug="Saline", strength="1 mg/mL", form="solution",
                            dose=D("0.005"), dose_unit="L"), "5", "mg") == D("0.005")


def test_a_concentration_does_not_convert_to_a_count_of_another_form() -> None:
    tabs = order(dose=D(1), dose_unit="tablet", strength="5 mg/mL", form="tablet")
    refused("dose_unit", check_dose, tabs, "5", "mg")


def test_the_confirmation_needs_a_form_of_countable_units_and_a_plain_strength() -> None:
    assert describe_dose(order(dose=D(25), strength="25 mg", form="")) == (
        "Acetaminophen 25 mg oral"
    )
    assert describe_dose(order(dose=D(5), strength="5 mg", form="mL")) == (
        "Acetaminophen 5 mg oral"
    )
    assert describe_dose(order(dose=D(5), strength="5 mg/mL", form="tablet")) == (
        "Acetaminophen 5 mg oral"
    )
    assert describe_dose(order(dose=D(650), dose_unit="scoop")) == "Acetaminophen 650 scoop oral"


def test_a_comma_is_no_decimal_separator_unless_the_locale_says_so() -> None:
    refused("dose_invalid", parse_amount, "2,5")
    assert parse_amount("2,5", decimal_comma=True) == D("2.5")
