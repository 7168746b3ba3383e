"""The dose facts of one GIVEN administration, for :mod:`mar_desktop.services.recording`: the
amount checked against the order (fixed dose, range, sliding scale), a partial dose, and the
24-hour amount maximum across the resident's orders.

Worker thread, inside the recording's write transaction (reads only; the caller appends).
Raises :class:`~mar_desktop.errors.RuleViolation` (codes of :mod:`mar_desktop.clinical.dose`,
:mod:`mar_desktop.clinical.daily_max` and ``route_mismatch``) or ValidationError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mar_desktop import kinds
from mar_desktop.clinical.daily_max import DAY, check_amount_max
from mar_desktop.clinical.dose import amount_text, check_dose, check_partial, scale_dose
from mar_desktop.clinical.routes import same_route
from mar_desktop.envelope import EntryDraft
from mar_desktop.errors import RuleViolation, ValidationError
from mar_desktop.model import Order
from mar_desktop.permissions import Principal
from mar_desktop.ports import ReadModel
from mar_desktop.views import OrderStatus


@dataclass(frozen=True, slots=True)
class DoseFacts:
    """The amount to record as given (what the resident received) and, for a partial dose,
    the amount prepared and why not all of it was taken."""

    given: Decimal
    intended: Decimal
    partial_reason: str = ""

    @property
    def partial(self) -> bool:
        return bool(self.partial_reason)

    def reason_text(self, unit: str, typed: str) -> str:
        """The dose entry's free-text reason: for a partial dose the words every history and
        report shows, e.g. "partial dose: 325 of 650 mg — spat out" (older tablets, which do
        not know ``administration.partial``, show them too); else ``typed``."""
        if not self.partial:
            return typed
        taken, intended = amount_text(self.given), amount_text(self.intended)
        return f"partial dose: {taken} of {intended} {unit} — {self.partial_reason}"


def dose_facts(
    order: Order,
    *,
    dose_given: str | Decimal | None,
    dose_unit: str | None,
    route: str | None,
    decimal_comma: bool,
    glucose: Decimal | None,
    partial_taken: str | Decimal | None,
    partial_reason: str,
) -> DoseFacts:
    """The dose of a GIVEN administration. ``dose_given`` None is the order's dose (refused
    for a range or a sliding scale, which need the amount chosen). A partial dose needs both
    ``partial_taken`` (in the order's unit) and ``partial_reason``."""
    if route is not None and route.strip() and not same_route(route, order.route):
        raise RuleViolation(
            f"This order is given {order.route}; it cannot be recorded as given {route}.",
            code="route_mismatch",
            field="route",
        )
    if dose_given is None and order.dose_max is not None:
        raise RuleViolation(
            "This order gives a range: choose the amount given.", code="dose_invalid", field="dose"
        )
    if dose_given is None and not order.sliding_scale:
        intended = order.dose
    else:  # a sliding scale without an amount: the scale's row for the glucose
        typed = dose_given if dose_given is not None else scale_dose(order, glucose)
        intended = check_dose(order, typed, dose_unit, decimal_comma=decimal_comma, glucose=glucose)
    reason = partial_reason.strip()
    if partial_taken is None and not reason:
        return DoseFacts(intended, intended)
    if partial_taken is None or not reason:
        raise RuleViolation(
            "A partial dose needs the amount taken and the reason.",
            code="partial_invalid",
            field="partial",
        )
    taken = check_partial(order, intended, partial_taken, decimal_comma=decimal_comma)
    return DoseFacts(taken, intended, reason)


def check_daily_amount(
    read: ReadModel, order: Order, amount: Decimal, administered_at: datetime
) -> None:
    """The 24-hour amount maximum of the dose's ingredient over the resident's orders
    (:func:`mar_desktop.clinical.daily_max.check_amount_max`); reads the resident's orders and,
    only when one of them states a maximum, the resident's doses around ``administered_at``."""
    states = read.orders([order.resident_id], include_discontinued=True)
    if not any(s.order.max_amount_24h is not None for s in states):
        return
    orders = {s.order.order_id: s.order for s in states}
    orders.setdefault(order.order_id, order)
    running = [s.order for s in states if s.status != OrderStatus.DISCONTINUED]
    records = read.administrations(
        since=administered_at - DAY,
        until=administered_at + DAY,
        resident_ids=[order.resident_id],
    )
    check_amount_max(order, amount, administered_at, orders, records, limits_from=[*running, order])


def partial_draft(
    principal: Principal, order: Order, dose_entry_id: str, facts: DoseFacts | None
) -> list[EntryDraft]:
    """The ``administration.partial`` entry of a partial dose (none otherwise), to append
    right after the dose entry it names."""
    if facts is None or not facts.partial:
        return []
    body = kinds.PartialDoseRecorded(
        administration_entry_id=dose_entry_id,
        resident_id=order.resident_id,
        order_id=order.order_id,
        intended=facts.intended,
        taken=facts.given,
        unit=order.dose_unit,
        reason=facts.partial_reason,
    )
    return [kinds.draft(kinds.PARTIAL_DOSE_RECORDED, principal.actor, body)]


def refuse_partial_not_given() -> ValidationError:
    """A partial dose is a GIVEN dose; any other outcome with a partial amount is refused."""
    return ValidationError("A partial dose is recorded as given, with the amount taken.")
