"""Order verification rules (docs/architecture.md#order-verification), pure: no I/O, any thread.

A new, changed or imported order is verified by a second licensed person before it is given.
What is decided here:

- :func:`change_effect`: does a change act at once (it only takes away: a lower dose, fewer
  doses, tighter PRN limits, an earlier end) or wait for verification while the previous
  verified version stays givable? Anything this cannot prove to be a reduction waits.
- :func:`check_verifier`: who may verify or return (``verifier_self``, ``verifier_role``,
  ``verifier_inactive``).
- :func:`check_givable`: an order awaiting verification is given only as an urgent dose
  (``order_unverified``), a returned order never (``order_returned``).
- :func:`source_rows`: the source's values beside the transcription, for the screen.

Codes raised: ``order_unverified``, ``order_returned``, ``verifier_self``, ``verifier_role``,
``verifier_inactive``, ``urgent_reason``, ``urgent_second_person``, ``urgent_not_needed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from mar_desktop.errors import RuleViolation
from mar_desktop.model import LICENSED_VERIFIER_ROLES, ORDER_V3_FIELDS, Order, Schedule, User
from mar_desktop.views import OrderState, VerificationStatus

ChangeEffect = Literal["at_once", "waits"]

_SAME_FIELDS = (
    "resident_id",
    "drug",
    "strength",
    "form",
    "gtins",
    "ndcs",
    "dose_unit",
    "route",
    "start",
    "instructions",
    "controlled_schedule",
    "time_critical",
    "hold_parameters",
    "site_required",
)
"""Fields a change that acts at once leaves as they were (``start`` aside: a change's start is
its effective time, compared separately by the caller's entry)."""


def change_effect(old: Order, new: Order) -> ChangeEffect:
    """``at_once`` if ``new`` only reduces ``old``: the same drug, product, unit, route, hold
    parameters and instructions; a dose not above the old one; a schedule giving no more often
    (the same kind: fixed times a subset of the old ones on no more days; every N hours with
    N not smaller; PRN with an interval not shorter and a daily maximum not higher); an end not
    later; and something actually smaller. Anything else (an increase, a new route, a new
    drug, a unit change, a change in the words, no reduction at all) ``waits``; so does any
    change to a dose range, a sliding scale or a daily amount maximum (not judged here)."""
    if any(getattr(old, name) != getattr(new, name) for name in ORDER_V3_FIELDS):
        return "waits"
    for name in _SAME_FIELDS:
        if name == "start":
            continue
        if getattr(old, name) != getattr(new, name):
            return "waits"
    if new.dose > old.dose:
        return "waits"
    schedule = _schedule_reduction(old.schedule, new.schedule)
    if schedule is None:
        return "waits"
    end = _end_reduction(old, new)
    if end is None:
        return "waits"
    reduced = new.dose < old.dose or schedule or end
    if new.prn_followup_minutes != old.prn_followup_minutes:
        return "waits"
    return "at_once" if reduced else "waits"


def _schedule_reduction(old: Schedule, new: Schedule) -> bool | None:
    """True if ``new`` gives less often than ``old``, False if as often, None if more often or
    not comparable."""
    if old.kind != new.kind:
        return None
    old_days = set(old.days_of_week if old.days_of_week is not None else range(7))
    new_days = set(new.days_of_week if new.days_of_week is not None else range(7))
    if not new_days <= old_days:
        return None
    fewer_days = new_days < old_days
    if old.kind == "fixed_times":
        if not set(new.times) <= set(old.times):
            return None
        return fewer_days or set(new.times) < set(old.times)
    if old.kind == "every_n_hours":
        if new.anchor != old.anchor or (new.every_hours or 0) < (old.every_hours or 0):
            return None
        return fewer_days or (new.every_hours or 0) > (old.every_hours or 0)
    # PRN: the interval may only grow, the daily maximum only shrink (None: no maximum).
    old_gap, new_gap = old.prn_min_interval_minutes or 0, new.prn_min_interval_minutes or 0
    if new_gap < old_gap:
        return None
    old_max, new_max = old.prn_max_doses_24h, new.prn_max_doses_24h
    if old_max is not None and (new_max is None or new_max > old_max):
        return None
    tighter_max = new_max is not None and (old_max is None or new_max < old_max)
    return fewer_days or new_gap > old_gap or tighter_max


def _end_reduction(old: Order, new: Order) -> bool | None:
    if new.end is None:
        return None if old.end is not None else False
    if old.end is None:
        return True
    if new.end > old.end:
        return None
    return new.end < old.end


def check_verifier(verifier: User, author_user_id: str) -> None:
    """The verifier must be an active account (``verifier_inactive``) of a licensed verifying
    role (nurse, director of nursing, pharmacist: ``verifier_role``) and not the person who
    entered what is verified (``verifier_self``)."""
    if not verifier.active:
        raise RuleViolation("This account is not active.", code="verifier_inactive")
    if verifier.role not in LICENSED_VERIFIER_ROLES:
        raise RuleViolation(
            "Orders are verified by a nurse, director of nursing or pharmacist.",
            code="verifier_role",
        )
    if verifier.user_id == author_user_id:
        raise RuleViolation(
            "A second person must verify: you entered this order.", code="verifier_self"
        )


def check_givable(state: OrderState, *, urgent: bool) -> None:
    """A returned order is never given (``order_returned``). One awaiting verification is
    given only as a documented urgent dose (``order_unverified``), unless it is a change that
    acts at once (a reduction: safety first). An urgent dose on an order that needs none is
    refused (``urgent_not_needed``) so the override report counts only real overrides."""
    if state.verification == VerificationStatus.RETURNED:
        raise RuleViolation(
            "This order was returned at verification and cannot be given. "
            + (f"Reason: {state.returned_reason}" if state.returned_reason else ""),
            code="order_returned",
        )
    needs = state.verification == VerificationStatus.AWAITING and not state.acts_at_once
    if needs and not urgent:
        raise RuleViolation(
            "This order awaits verification by a second licensed person. Give it only as an "
            "urgent dose, with a reason and a second licensed person's sign-in.",
            code="order_unverified",
        )
    if urgent and not needs:
        raise RuleViolation(
            "This order can be given normally; an urgent dose is only for an order awaiting "
            "verification.",
            code="urgent_not_needed",
        )


def check_urgent_second_person(giver: User, second: User | None) -> None:
    """The second person of an urgent dose: someone else, active, licensed to verify
    (``urgent_second_person``)."""
    if (
        second is None
        or second.user_id == giver.user_id
        or not second.active
        or second.role not in LICENSED_VERIFIER_ROLES
    ):
        raise RuleViolation(
            "An urgent dose on an unverified order needs a second licensed person (nurse, "
            "director of nursing or pharmacist, not you) to sign in.",
            code="urgent_second_person",
        )


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One line of the verification screen: the source's value beside ours."""

    field: str
    source: str
    transcribed: str

    @property
    def differs(self) -> bool:
        return _norm(self.source) != _norm(self.transcribed)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def order_values(order: Order) -> dict[str, str]:
    """An order's verifiable values as text, by the field names :func:`source_rows` uses."""
    schedule = order.schedule
    if schedule.kind == "fixed_times":
        timing = "at " + ", ".join(schedule.times)
        if schedule.days_of_week is not None:
            timing += " on days " + ",".join(str(d) for d in schedule.days_of_week)
    elif schedule.kind == "every_n_hours":
        timing = f"every {schedule.every_hours} h from {schedule.anchor}"
    else:
        timing = "PRN"
        if schedule.prn_min_interval_minutes:
            timing += f", at least {schedule.prn_min_interval_minutes} min apart"
        if schedule.prn_max_doses_24h:
            timing += f", at most {schedule.prn_max_doses_24h} in 24 h"
    holds = "; ".join(
        f"{p.vital} {'min ' + str(p.minimum) if p.minimum is not None else ''}"
        f"{' max ' + str(p.maximum) if p.maximum is not None else ''}".strip()
        for p in order.hold_parameters
    )
    return {
        "drug": order.drug,
        "strength": order.strength,
        "form": order.form,
        "dose": _dose_words(order),
        "route": order.route,
        "frequency": timing,
        "hold_parameters": holds,
        "start": order.start.isoformat(),
        "end": order.end.isoformat() if order.end else "",
        "instructions": order.instructions,
        "prescriber": order.prescriber,
        "controlled_schedule": order.controlled_schedule or "",
    }


def _dose_words(order: Order) -> str:
    """The dose as verified: "650 mg", a range "325–650 mg", a sliding scale row by row; and a
    24 h amount maximum."""
    def num(value: Decimal) -> str:
        return format(value.normalize(), "f")

    text = f"{num(order.dose)} {order.dose_unit}"
    if order.dose_max is not None:
        text = f"{num(order.dose)}–{num(order.dose_max)} {order.dose_unit}"
    if order.sliding_scale:
        rows = "; ".join(
            f"glucose {num(r.glucose_min)}–{num(r.glucose_max)}: {num(r.dose)}"
            for r in order.sliding_scale
        )
        text = f"sliding scale ({order.dose_unit}): {rows}"
    if order.max_amount_24h is not None:
        what = order.ingredient or order.drug
        text += f"; at most {num(order.max_amount_24h)} {order.max_amount_unit} {what} in 24 h"
    return text


def source_rows(
    order: Order, source_values: Sequence[tuple[str, str]], entered: Order | None = None
) -> tuple[SourceRow, ...]:
    """The rows of the verification screen: for an import, the pharmacy's values
    (``source_values``) beside the order as transcribed; for hand entry (no source values),
    the order as the entering person typed it (``entered``, default ``order``) beside the
    order, so the verifier reads the one against the source document they hold."""
    ours = order_values(order)
    if source_values:
        given = dict(source_values)
        return tuple(SourceRow(name, given.get(name, ""), ours[name]) for name in ours)
    typed = order_values(entered or order)
    return tuple(SourceRow(name, typed[name], ours[name]) for name in ours)
