"""The dose is the order's: what a nurse types is read, converted to the order's unit and
compared with the order before anything is signed.

- :func:`parse_amount`: a plain positive decimal ("650", "2.5", "2,5" where the locale writes a
  decimal comma); refuses empty, zero, negative, non-numeric, NaN/infinity, exponents ("1e9")
  and amounts with more than four decimals.
- :func:`unit_of`: the closed list of dose units (mass mcg/mg/g, volume mL/L, units, mEq, and
  counts of a dose form: tablet, capsule, puff, drop, ...). ISMP's error-prone abbreviations
  ("U", "IU", "cc", "µg") are not accepted.
- :func:`dose_in_order_unit`: converts within a dimension (mg ↔ g ↔ mcg, mL ↔ L) and between a
  count of the order's form and its strength ("325 mg" tablets: 2 tablets = 650 mg).
- :func:`check_dose`: the amount in the order's unit must be the order's dose.
- :func:`describe_dose`: what the confirmation shows and the entry records, e.g.
  "Acetaminophen 325 mg tablet × 2 = 650 mg oral".

Every refusal is a :class:`~mar_desktop.errors.RuleViolation` with ``field="dose"`` and a
message a nurse understands; codes ``dose_invalid``, ``dose_unit``, ``dose_mismatch``. Pure; any
thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mar_desktop.clinical.routes import route_words
from mar_desktop.errors import RuleViolation
from mar_desktop.model import Order

MAX_DECIMALS = 4
_PLAIN = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")


@dataclass(frozen=True, slots=True)
class DoseUnit:
    """A unit of the closed list: its canonical name, its dimension and its size in the
    dimension's base unit (mcg, mL, units, mEq, or one of the form)."""

    name: str
    dimension: str
    factor: Decimal


def _unit(name: str, dimension: str, factor: str, *words: str) -> dict[str, DoseUnit]:
    unit = DoseUnit(name, dimension, Decimal(factor))
    return dict.fromkeys((name, *words), unit)


_COUNT_FORMS = (
    ("tablet", "tablets", "tab", "tabs"),
    ("capsule", "capsules", "cap", "caps"),
    ("puff", "puffs", "inhalation", "inhalations"),
    ("drop", "drops", "gtt", "gtts"),
    ("spray", "sprays"),
    ("patch", "patches"),
    ("suppository", "suppositories", "supp"),
    ("application", "applications", "appl"),
    ("lozenge", "lozenges", "troche"),
    ("packet", "packets", "sachet"),
)

UNITS: dict[str, DoseUnit] = {
    **_unit("mcg", "mass", "1", "microgram", "micrograms"),
    **_unit("mg", "mass", "1000", "milligram", "milligrams"),
    **_unit("g", "mass", "1000000", "gram", "grams", "gm"),
    **_unit("mL", "volume", "1", "ml", "milliliter", "milliliters", "millilitre", "millilitres"),
    **_unit("L", "volume", "1000", "l", "liter", "liters", "litre", "litres"),
    **_unit("units", "units", "1", "unit"),
    **_unit("mEq", "meq", "1", "meq", "milliequivalent", "milliequivalents"),
}
for _name, *_words in _COUNT_FORMS:
    UNITS.update(_unit(_name, f"count:{_name}", "1", *_words))


def unit_of(text: str) -> DoseUnit | None:
    """The dose unit ``text`` names, or None (unknown, or an error-prone abbreviation)."""
    return UNITS.get(text.strip().lower())


def parse_amount(text: str | Decimal, *, decimal_comma: bool = False) -> Decimal:
    """A positive amount from what was typed (see the module doc). Raises RuleViolation."""
    if isinstance(text, Decimal):
        raw = format(text, "f") if text.is_finite() else "nan"
    else:
        raw = text.strip()
        if decimal_comma and raw.count(",") == 1 and "." not in raw:
            raw = raw.replace(",", ".")
    if not raw:
        raise _invalid("Enter the dose given.")
    if raw.startswith("-"):
        raise _invalid("The dose cannot be negative.")
    if not _PLAIN.match(raw):
        raise _invalid("Enter the dose as a plain number, e.g. 650 or 2.5.")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise _invalid("Enter the dose as a plain number, e.g. 650 or 2.5.") from None
    if amount == 0:
        raise _invalid("A dose of zero is not a dose; choose another outcome if none was given.")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        raise _invalid(f"Enter the dose with at most {MAX_DECIMALS} decimals.")
    return amount


@dataclass(frozen=True, slots=True)
class Strength:
    """How much drug one unit of the form holds: "325 mg" per tablet, "5 mg/mL"."""

    amount: Decimal
    unit: DoseUnit
    per: DoseUnit | None  # None: per one unit of the order's form


_STRENGTH = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*(?:/\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+))?\s*$"
)


def strength_of(order: Order) -> Strength | None:
    """The order's strength if it reads as "<amount> <unit>" or "<amount> <unit>/<unit>"."""
    found = _STRENGTH.match(order.strength)
    if found is None:
        return None
    amount, unit_text, per_amount, per_text = found.groups()
    unit = unit_of(unit_text)
    per = unit_of(per_text) if per_text else None
    if unit is None or (per_text and per is None) or Decimal(per_amount or 1) == 0:
        return None
    return Strength(Decimal(amount) / Decimal(per_amount or 1), unit, per)


def _form_unit(order: Order) -> DoseUnit | None:
    found = unit_of(order.form)
    return found if found is not None and found.dimension.startswith("count:") else None


def dose_in_order_unit(order: Order, amount: Decimal, unit_text: str) -> Decimal:
    """``amount`` of ``unit_text`` expressed in the order's dose unit. Raises RuleViolation
    (``dose_unit``) when the units do not convert."""
    ordered = unit_of(order.dose_unit)
    given = unit_of(unit_text)
    if ordered is None or given is None:
        if unit_text.strip().lower() == order.dose_unit.strip().lower():
            return amount
        raise _unit_error(order, unit_text)
    if given.dimension == ordered.dimension:
        return amount * given.factor / ordered.factor
    strength = strength_of(order)
    per = strength.per if strength is not None and strength.per is not None else _form_unit(order)
    if strength is None or per is None:
        raise _unit_error(order, unit_text)
    # given per-units (e.g. tablets, mL) → the strength's unit (e.g. mg) → the order's unit
    if given.dimension == per.dimension and strength.unit.dimension == ordered.dimension:
        in_strength = amount * given.factor / per.factor * strength.amount
        return in_strength * strength.unit.factor / ordered.factor
    if given.dimension == strength.unit.dimension and per.dimension == ordered.dimension:
        pieces = amount * given.factor / strength.unit.factor / strength.amount
        return pieces * per.factor / ordered.factor
    raise _unit_error(order, unit_text)


def check_dose(
    order: Order,
    amount: str | Decimal,
    unit_text: str | None = None,
    *,
    decimal_comma: bool = False,
) -> Decimal:
    """The dose given, in the order's unit, when it is the order's dose; ``unit_text`` None
    means the order's unit. Raises RuleViolation (``dose_invalid``, ``dose_unit``,
    ``dose_mismatch``, all with ``field="dose"``)."""
    value = parse_amount(amount, decimal_comma=decimal_comma)
    unit = order.dose_unit if unit_text is None or not unit_text.strip() else unit_text
    converted = dose_in_order_unit(order, value, unit)
    if converted != order.dose:
        typed = f"{_text(value)} {unit}"
        raise RuleViolation(
            f"This order is for {_text(order.dose)} {order.dose_unit}; {typed} is not the ordered "
            "dose. Check the order and the amount.",
            code="dose_mismatch",
            field="dose",
        )
    return order.dose


def describe_dose(order: Order) -> str:
    """What is about to be signed, in words: the drug, the strength × the number of units of
    its form when the dose is a whole (or half) number of them, the dose and the route, e.g.
    "Acetaminophen 325 mg tablet × 2 = 650 mg oral" (the route in words, also for "PO")."""
    strength, form, ordered = strength_of(order), _form_unit(order), unit_of(order.dose_unit)
    plain = f"{order.drug} {_text(order.dose)} {order.dose_unit} {route_words(order.route)}"
    if strength is None or strength.per is not None or form is None or ordered is None:
        return plain
    if strength.unit.dimension == ordered.dimension:
        pieces = order.dose * ordered.factor / (strength.amount * strength.unit.factor)
        total = f"{_text(order.dose)} {order.dose_unit}"
    elif ordered.dimension == form.dimension:
        pieces = order.dose * ordered.factor
        total = f"{_text(pieces * strength.amount)} {strength.unit.name}"
    else:
        return plain
    if (pieces * 2) != (pieces * 2).to_integral():
        return plain
    each = f"{order.drug} {order.strength.strip()} {form.name}"
    return f"{each} × {_text(pieces)} = {total} {route_words(order.route)}"


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _invalid(message: str) -> RuleViolation:
    return RuleViolation(message, code="dose_invalid", field="dose")


def _unit_error(order: Order, unit_text: str) -> RuleViolation:
    return RuleViolation(
        f"This order is dosed in {order.dose_unit}; {unit_text.strip() or 'that unit'} does not "
        "convert to it.",
        code="dose_unit",
        field="dose",
    )
