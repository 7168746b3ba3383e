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
- :func:`check_dose`: the amount in the order's unit must be the order's dose; for a dose
  range anything from its minimum to its maximum (both inclusive); for a sliding scale exactly
  the scale's row for the glucose measured.
- :func:`check_partial`: a partial dose is more than nothing and less than the dose prepared.
- :func:`describe_dose`: what the confirmation shows and the entry records, e.g.
  "Acetaminophen 325 mg tablet × 2 = 650 mg oral" (for a range or a scale: the amount chosen).
- :func:`amount_in_unit`: an amount in the order's unit expressed in another unit (daily
  maxima in mg of an ingredient from orders dosed in tablets).

Every refusal is a :class:`~mar_desktop.errors.RuleViolation` with ``field="dose"`` (``glucose``
for a missing glucose) and a message a nurse understands; codes ``dose_invalid``,
``dose_unit``, ``dose_mismatch``, ``glucose_required``, ``scale_no_row`` (call the
prescriber), ``scale_no_dose`` (the row gives nothing), ``partial_invalid``. Pure; any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mar_desktop.clinical.routes import route_words
from mar_desktop.errors import RuleViolation
from mar_desktop.model import Order, SlidingScaleRow

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
    glucose: Decimal | None = None,
) -> Decimal:
    """The dose given, in the order's unit, when the order allows it (its dose; within its
    range; its sliding scale's row for ``glucose``); ``unit_text`` None means the order's unit.
    Raises RuleViolation (see the module doc)."""
    if order.sliding_scale:
        expected = scale_dose(order, glucose)
    value = parse_amount(amount, decimal_comma=decimal_comma)
    unit = order.dose_unit if unit_text is None or not unit_text.strip() else unit_text
    converted = dose_in_order_unit(order, value, unit)
    typed = f"{_text(value)} {unit}"
    if order.sliding_scale:
        if converted != expected:
            raise _mismatch(
                f"The sliding scale gives {_text(expected)} {order.dose_unit} at glucose "
                f"{_text(glucose or Decimal(0))} mg/dL; {typed} is not that dose."
            )
        return expected
    if order.dose_max is not None:
        if not order.dose <= converted <= order.dose_max:
            raise _mismatch(
                f"This order is for {dose_range_text(order)}; {typed} is outside the range. "
                "Check the order and the amount."
            )
        return converted
    if converted != order.dose:
        raise _mismatch(
            f"This order is for {_text(order.dose)} {order.dose_unit}; {typed} is not the ordered "
            "dose. Check the order and the amount."
        )
    return order.dose


def dose_range_text(order: Order) -> str:
    """The order's dose as text: "1–2 tablet", "5–10 mg", or a fixed "650 mg"."""
    if order.dose_max is None:
        return f"{_text(order.dose)} {order.dose_unit}"
    return f"{_text(order.dose)}–{_text(order.dose_max)} {order.dose_unit}"


def order_dose_text(order: Order) -> str:
    """The order's dose wherever an order is listed: "650 mg", a range "325–650 mg", "units
    per sliding scale"; with its 24 h amount maximum ("…, max 3 g/24 h")."""
    text = f"{order.dose_unit} per sliding scale" if order.sliding_scale else dose_range_text(
        order)
    if order.max_amount_24h is not None:
        text += f", max {_text(order.max_amount_24h)} {order.max_amount_unit}/24 h"
    return text


MAX_RANGE_CHOICES = 8


def range_choices(order: Order) -> tuple[Decimal, ...]:
    """The amounts a range order offers for one tap, in its unit: every whole unit of its
    form (1, 2 tablets; 325, 650 mg of 325 mg tablets) from the range's minimum to its maximum
    when there are at most :data:`MAX_RANGE_CHOICES`, else (or when the form does not count)
    just both ends. Empty for an order without a range."""
    if order.dose_max is None:
        return ()
    step: Decimal | None = None
    ordered, form = unit_of(order.dose_unit), _form_unit(order)
    if ordered is not None and ordered.dimension.startswith("count:"):
        step = Decimal(1)
    elif form is not None:
        try:
            step = dose_in_order_unit(order, Decimal(1), form.name)
        except RuleViolation:
            step = None
    if step is not None and step > 0:
        first = (order.dose / step).to_integral_value(rounding="ROUND_CEILING") * step
        amounts: list[Decimal] = []
        value = first
        while value <= order.dose_max and len(amounts) <= MAX_RANGE_CHOICES:
            amounts.append(value)
            value += step
        if 1 < len(amounts) <= MAX_RANGE_CHOICES and amounts[0] == order.dose:
            return tuple(amounts)
    return (order.dose, order.dose_max)


def scale_row(order: Order, glucose: Decimal) -> SlidingScaleRow | None:
    """The sliding scale's row holding ``glucose`` (bounds inclusive), or None."""
    return next(
        (r for r in order.sliding_scale if r.glucose_min <= glucose <= r.glucose_max), None
    )


def scale_dose(order: Order, glucose: Decimal | None) -> Decimal:
    """The dose the order's sliding scale gives for ``glucose``. Raises RuleViolation:
    ``glucose_required`` (none measured), ``scale_no_row`` (outside every row: do not give,
    call the prescriber), ``scale_no_dose`` (the row gives no dose)."""
    if glucose is None:
        raise RuleViolation(
            "This dose is on a sliding scale: record the glucose first.",
            code="glucose_required",
            field="glucose",
        )
    row = scale_row(order, glucose)
    if row is None:
        raise RuleViolation(
            f"A glucose of {_text(glucose)} mg/dL is outside this order's sliding scale. Do not "
            "give it: call the prescriber.",
            code="scale_no_row",
            field="glucose",
        )
    if row.dose == 0:
        raise RuleViolation(
            f"The sliding scale gives no dose at glucose {_text(glucose)} mg/dL; record the dose "
            "as not given.",
            code="scale_no_dose",
            field="dose",
        )
    return row.dose


def check_partial(
    order: Order, intended: Decimal, taken: str | Decimal, *, decimal_comma: bool = False
) -> Decimal:
    """The amount actually taken of a partial dose, in the order's unit: a valid amount (as
    :func:`parse_amount`) less than ``intended`` (the dose prepared, already checked). Raises
    RuleViolation ``dose_invalid`` or ``partial_invalid`` (field "partial")."""
    try:
        value = parse_amount(taken, decimal_comma=decimal_comma)
    except RuleViolation as exc:
        raise RuleViolation(str(exc), code="dose_invalid", field="partial") from None
    if value >= intended:
        raise RuleViolation(
            f"A partial dose is less than the {_text(intended)} {order.dose_unit} prepared; "
            "record the full dose as given instead.",
            code="partial_invalid",
            field="partial",
        )
    return value


def amount_in_unit(order: Order, amount: Decimal, unit_text: str) -> Decimal:
    """``amount`` of the order's dose unit expressed in ``unit_text`` (e.g. 2 tablets of a
    325 mg tablet order in g: 0.65). Raises RuleViolation ``dose_unit`` when they do not
    convert."""
    per_target = dose_in_order_unit(order, Decimal(1), unit_text)
    return amount / per_target


def describe_dose(order: Order, amount: Decimal | None = None) -> str:
    """What is about to be signed, in words: the drug, the strength × the number of units of
    its form when the dose is a whole (or half) number of them, the dose and the route, e.g.
    "Acetaminophen 325 mg tablet × 2 = 650 mg oral" (the route in words, also for "PO").
    ``amount`` (the order's unit) is the dose chosen on a range or a scale (None: the order's
    dose; a range order then reads "1–2 tablet")."""
    dose = order.dose if amount is None else amount
    strength, form, ordered = strength_of(order), _form_unit(order), unit_of(order.dose_unit)
    if amount is None and (order.dose_max is not None or order.sliding_scale):
        how = "per sliding scale" if order.sliding_scale else dose_range_text(order)
        return f"{order.drug} {how} {route_words(order.route)}"
    plain = f"{order.drug} {_text(dose)} {order.dose_unit} {route_words(order.route)}"
    if strength is None or strength.per is not None or form is None or ordered is None:
        return plain
    if strength.unit.dimension == ordered.dimension:
        pieces = dose * ordered.factor / (strength.amount * strength.unit.factor)
        total = f"{_text(dose)} {order.dose_unit}"
    elif ordered.dimension == form.dimension:
        pieces = dose * ordered.factor
        total = f"{_text(pieces * strength.amount)} {strength.unit.name}"
    else:
        return plain
    if (pieces * 2) != (pieces * 2).to_integral():
        return plain
    each = f"{order.drug} {order.strength.strip()} {form.name}"
    return f"{each} × {_text(pieces)} = {total} {route_words(order.route)}"


def amount_text(value: Decimal) -> str:
    """A decimal as a nurse reads it: no exponent, no trailing zeros ("650", "2.5")."""
    return _text(value)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _mismatch(message: str) -> RuleViolation:
    return RuleViolation(message, code="dose_mismatch", field="dose")


def _invalid(message: str) -> RuleViolation:
    return RuleViolation(message, code="dose_invalid", field="dose")


def _unit_error(order: Order, unit_text: str) -> RuleViolation:
    return RuleViolation(
        f"This order is dosed in {order.dose_unit}; {unit_text.strip() or 'that unit'} does not "
        "convert to it.",
        code="dose_unit",
        field="dose",
    )
