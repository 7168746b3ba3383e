"""The 24-hour maximum in AMOUNT of one ingredient across all of a resident's orders ("no more
than 3 g acetaminophen a day": the scheduled and the PRN acetaminophen count together).

An order states the maximum (``max_amount_24h`` in ``max_amount_unit``) and, optionally, the
``ingredient`` it counts; blank, the ingredient is the drug name (a brand name read as its
generic: "Tylenol" counts as acetaminophen). A dose of another order counts towards it when that
order names the same ingredient or its drug name holds it ("Hydrocodone-acetaminophen").

Every order of the resident that carries a maximum for the ingredient of the dose being given
applies (the lowest wins), whichever order the dose belongs to. Counted: GIVEN doses, not
voided, by the amount recorded (for a partial dose the amount actually taken). A counted dose
whose amount cannot be expressed in the maximum's unit (a combination product whose strength
does not say how much of the ingredient one unit holds) makes the total unknown: refused, the
most restrictive reading.

Refusal: :class:`~mar_desktop.errors.RuleViolation` ``prn_amount_max`` naming the total and the
maximum, or ``amount_max_unknown``. Pure; any thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from mar_desktop.clinical.allergies import drug_words
from mar_desktop.clinical.dose import amount_in_unit, amount_text
from mar_desktop.clinical.drug_names import NAMES
from mar_desktop.errors import RuleViolation
from mar_desktop.model import Order
from mar_desktop.views import AdministrationRecord

DAY = timedelta(hours=24)


def ingredient_of(order: Order) -> str:
    """The ingredient key an order's daily maximum counts: its ``ingredient``, else its drug
    name (a known brand name as its generic), lower case."""
    named = order.ingredient.strip().casefold()
    if named:
        return named
    drug = order.drug.strip().casefold()
    return NAMES.get(drug, drug)


def holds_ingredient(order: Order, ingredient: str) -> bool:
    """Whether doses of ``order`` count towards a maximum of ``ingredient``."""
    if ingredient_of(order) == ingredient:
        return True
    wanted = set(ingredient.replace("-", " ").split())
    return bool(wanted) and wanted <= drug_words(order.drug)


@dataclass(frozen=True, slots=True)
class AmountMax:
    """The maximum that applies to one ingredient: the amount, its unit and the order's id."""

    ingredient: str
    amount: Decimal
    unit: str
    order_id: str


def applicable_max(order: Order, orders: Iterable[Order]) -> AmountMax | None:
    """The lowest daily maximum (by its own unit's size, compared in the dose's terms) among
    ``orders`` (the resident's running orders, ``order`` included) whose ingredient ``order``
    holds; None if none applies."""
    found: AmountMax | None = None
    found_in_order_unit: Decimal | None = None
    for other in orders:
        if other.max_amount_24h is None or other.resident_id != order.resident_id:
            continue
        ingredient = ingredient_of(other)
        if not holds_ingredient(order, ingredient):
            continue
        unit = other.max_amount_unit
        candidate = AmountMax(ingredient, other.max_amount_24h, unit, other.order_id)
        try:
            size = other.max_amount_24h / amount_in_unit(order, Decimal(1), other.max_amount_unit)
        except RuleViolation:
            size = Decimal(0)  # not comparable: treat as the tightest, never the loosest
        if found_in_order_unit is None or size < found_in_order_unit:
            found, found_in_order_unit = candidate, size
    return found


def check_amount_max(
    order: Order,
    amount: Decimal,
    administered_at: datetime,
    orders: Mapping[str, Order],
    records: Iterable[AdministrationRecord],
    *,
    limits_from: Iterable[Order] | None = None,
) -> None:
    """Refuses a GIVEN dose of ``amount`` (the order's unit) at ``administered_at`` that would
    take the ingredient over its 24-hour maximum: for ``t`` the new dose's time and, for late
    charting, every later counted dose less than 24 h after it, the doses in ``(t − 24 h, t]``
    plus the new one may not exceed the maximum (exactly the maximum: allowed).

    ``orders``: the resident's orders by id (discontinued ones too, for their past doses);
    ``records``: the resident's records around the dose (other residents' are ignored);
    ``limits_from``: the orders whose maxima apply (None: all of ``orders``; the service passes
    the running ones)."""
    limit = applicable_max(order, orders.values() if limits_from is None else limits_from)
    if limit is None:
        return
    doses: list[tuple[datetime, Decimal]] = []
    for record in records:
        source = orders.get(record.order_id)
        if (
            source is None
            or record.resident_id != order.resident_id
            or not record.counts_as_given
            or not holds_ingredient(source, limit.ingredient)
        ):
            continue
        given = record.dose_given if record.dose_given is not None else source.dose
        doses.append((record.administered_at, _in_max_unit(source, given, limit)))
    new = (administered_at, _in_max_unit(order, amount, limit))
    with_new = sorted([*doses, new])
    ends = [t for t, _ in with_new if administered_at <= t < administered_at + DAY]
    for end in ends:
        total = sum((a for t, a in with_new if end - DAY < t <= end), Decimal(0))
        if total > limit.amount:
            raise RuleViolation(
                f"This dose would make {amount_text(total)} {limit.unit} of {limit.ingredient} "
                f"in 24 hours; the maximum is {amount_text(limit.amount)} {limit.unit}. Do not "
                "give it: check with the prescriber.",
                code="prn_amount_max",
                field="dose",
            )


def _in_max_unit(order: Order, amount: Decimal, limit: AmountMax) -> Decimal:
    try:
        return amount_in_unit(order, amount, limit.unit)
    except RuleViolation:
        raise RuleViolation(
            f"A dose of {order.drug} in the last 24 hours cannot be counted in {limit.unit} of "
            f"{limit.ingredient}, so the daily maximum cannot be checked. Check with the "
            "pharmacist before giving.",
            code="amount_max_unknown",
            field="dose",
        ) from None
