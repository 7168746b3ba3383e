"""Order life from its events: hold intervals, discontinuation and status at a moment.

Pure: folds the ``order_events`` rows of one order (sorted by effective time, then stamp), so
the result does not depend on the order the entries arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mar_desktop.model import Order
from mar_desktop.views import Interval, OrderState, OrderStatus


def build_order_state(order: Order, events: Iterable[Any], now: datetime) -> OrderState:
    """``events`` rows are (order_id, event, effective_at, replaced_by, stamp), sorted.

    A hold opens at ``held`` (ignored while already held) and closes at the next ``resumed``;
    the earliest ``discontinued`` wins. Status at ``now``: DISCONTINUED once discontinued or
    past the order's end, HELD inside a hold, else ACTIVE.
    """
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
    state = OrderState(
        order=order,
        status=OrderStatus.ACTIVE,
        holds=tuple(holds),
        discontinued_at=discontinued_at,
        replaced_by=replaced_by,
    )
    ended = order.end is not None and now >= order.end
    if (discontinued_at is not None and now >= discontinued_at) or ended:
        status = OrderStatus.DISCONTINUED
    elif state.held_at(now):
        status = OrderStatus.HELD
    else:
        return state
    return OrderState(order, status, state.holds, discontinued_at, replaced_by)
