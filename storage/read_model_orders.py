"""Order life from its events: hold intervals, discontinuation, verification and status at a
moment.

Pure: folds the ``order_events`` rows of one order (sorted by effective time, then stamp) and
its ``order_checks`` rows, so the result does not depend on the order the entries arrived in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from mar_desktop.model import Order
from mar_desktop.views import Interval, OrderState, OrderStatus, VerificationStatus


@dataclasses.dataclass(frozen=True, slots=True)
class OrderRow:
    """The verification columns of an ``orders`` row (``ORDER_COLUMNS`` after the JSON)."""

    entry_id: str
    author_user_id: str
    verification: str
    acts_at_once: bool
    replaces: str | None

    @classmethod
    def of(cls, row: Sequence[Any]) -> OrderRow:
        return cls(row[3], row[4], row[5], bool(row[6]), row[7])


def verification_of(row: OrderRow, checks: Iterable[Any]) -> tuple[VerificationStatus, str]:
    """The order's verification and a return's reason. ``checks`` rows are (order_id,
    target_entry_id, decision, actor_user_id, reason, recorded_at).

    A return of the order's entry is final (it is never given, whatever else is recorded). A
    verification counts only for the order's own entry and by someone who is not its author;
    the server's upgrade entry counts; ``not_required`` (hand entry with the requirement off)
    is verified. Anything else awaits."""
    verified = row.verification == "not_required"
    for _order, target, decision, actor, reason, _at in checks:
        if decision == "returned" and target == row.entry_id:
            return VerificationStatus.RETURNED, reason
        if decision == "upgrade" or (
            decision == "verified" and target == row.entry_id and actor != row.author_user_id
        ):
            verified = True
    return (VerificationStatus.VERIFIED if verified else VerificationStatus.AWAITING), ""


def build_order_state(
    order: Order,
    events: Iterable[Any],
    now: datetime,
    row: OrderRow | None = None,
    checks: Iterable[Any] = (),
) -> OrderState:
    """``events`` rows are (order_id, event, effective_at, replaced_by, stamp), sorted.

    A hold opens at ``held`` (ignored while already held) and closes at the next ``resumed``;
    the earliest ``discontinued`` wins. Status at ``now``: DISCONTINUED once discontinued or
    past the order's end, HELD inside a hold, else ACTIVE. Verification from ``row`` and
    ``checks`` (:func:`verification_of`); without a row, verified (tests of the folding)."""
    holds: list[Interval] = []
    open_since: datetime | None = None
    discontinued_at: datetime | None = None
    replaced_by: str | None = None
    for _order_id, event, effective_text, replacement, _stamp in events:
        effective = datetime.fromisoformat(effective_text)
        if event == "held":
            if open_since is None:
                open_since = effective
        elif event == "resumed":
            if open_since is not None:
                holds.append(Interval(open_since, effective))
                open_since = None
        elif discontinued_at is None or effective < discontinued_at:
            discontinued_at = effective
            replaced_by = replacement
    if open_since is not None:
        holds.append(Interval(open_since, None))
    verification, returned_reason = VerificationStatus.VERIFIED, ""
    extra: dict[str, Any] = {}
    if row is not None:
        verification, returned_reason = verification_of(row, checks)
        extra = {
            "acts_at_once": row.acts_at_once,
            "replaces": row.replaces,
            "author_user_id": row.author_user_id,
            "entry_id": row.entry_id,
        }
    ended = order.end is not None and now >= order.end
    if (discontinued_at is not None and now >= discontinued_at) or ended:
        status = OrderStatus.DISCONTINUED
    elif any(hold.contains(now) for hold in holds):
        status = OrderStatus.HELD
    else:
        status = OrderStatus.ACTIVE
    return OrderState(
        order,
        status,
        tuple(holds),
        discontinued_at,
        replaced_by,
        verification=verification,
        returned_reason=returned_reason,
        **extra,
    )


def link_changes(state: OrderState, replacements: Iterable[OrderState]) -> OrderState:
    """``state`` with its change links: ``pending_change``, a change of it awaiting
    verification that does not act at once (the newest; a returned one is none), and
    ``replaced_by`` for an order a verified waiting change ended (the verifier's
    ``order.discontinued`` does not name the replacement)."""
    pending: str | None = None
    replaced_by = state.replaced_by
    for change in replacements:
        if change.verification == VerificationStatus.RETURNED:
            continue
        if change.awaiting_verification and not change.acts_at_once:
            pending = change.order_id
        elif replaced_by is None and state.discontinued_at is not None:
            replaced_by = change.order_id
    if pending is None and replaced_by == state.replaced_by:
        return state
    return dataclasses.replace(state, pending_change=pending, replaced_by=replaced_by)
