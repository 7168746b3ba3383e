"""The unit's med pass: every scheduled dose of the current pass for the residents in scope, late
first, then due now, then coming up, each group in room order; and how many of the pass are
done.

The pass is the doses scheduled from ``now - lookback`` (the oldest a dose can still be due or
late: the widest window plus the grace time, :func:`due_now_lookback`) to ``now + ahead`` (default
60 minutes). A dose of the pass is *to do* when its status is LATE, DUE or UPCOMING, *done* when
it is documented (given, refused, held, not given), *missed* when its grace time has passed
undocumented. PRN orders have no scheduled doses and are not on the pass (their follow-ups are
on the resident's MAR and counted on the overview).

Pure: :func:`build_pass_list` reads nothing; ``MarService.pass_list`` gathers its input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mar_desktop.clinical.schedule import dose_statuses, due_now_lookback
from mar_desktop.model import DoseStatus, Facility, Order, Resident
from mar_desktop.views import AdministrationRecord, OrderState, ScheduledDose

PASS_AHEAD = timedelta(minutes=60)
TO_DO = (DoseStatus.LATE, DoseStatus.DUE, DoseStatus.UPCOMING)  # in the pass's order
DONE = frozenset({DoseStatus.GIVEN, DoseStatus.REFUSED, DoseStatus.HELD, DoseStatus.NOT_GIVEN})


@dataclass(frozen=True, slots=True)
class PassItem:
    """One dose to do: who, which order, when and in which state; ``awaiting_verification``:
    the order is not verified yet (givable only as a documented urgent dose)."""

    resident: Resident
    order: Order
    dose: ScheduledDose
    awaiting_verification: bool = False


@dataclass(frozen=True, slots=True)
class PassList:
    items: tuple[PassItem, ...]  # LATE, then DUE, then UPCOMING; each by room, time, name, drug
    done: int
    missed: int
    window_start: datetime
    window_end: datetime
    as_of: datetime

    @property
    def remaining(self) -> int:
        return len(self.items)

    def count(self, status: DoseStatus) -> int:
        return sum(1 for item in self.items if item.dose.status is status)


def pass_window(facility: Facility, now: datetime,
                ahead: timedelta = PASS_AHEAD) -> tuple[datetime, datetime]:
    """``[start, end)`` of the pass at ``now`` (see the module docstring)."""
    return now - due_now_lookback(facility.settings), now + ahead


def room_key(room: str) -> tuple[tuple[int, int | str], ...]:
    """Sorts rooms as people read them: "2" before "10", "12A" after "12"."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in re.findall(r"\d+|\D+", room))


def build_pass_list(
    residents: Iterable[Resident],
    order_states: Iterable[OrderState],
    records: Iterable[AdministrationRecord],
    *,
    now: datetime,
    facility: Facility,
    ahead: timedelta = PASS_AHEAD,
) -> PassList:
    """The pass of ``residents`` at ``now``. ``order_states`` are the orders whose doses the pass
    shows (``MarService`` passes them through ``on_the_pass``: no returned order, no change
    waiting behind the version in force); ``records`` must hold the administrations scheduled
    in the pass window (others are ignored); orders of residents not listed are ignored."""
    start, end = pass_window(facility, now, ahead)
    who = {r.resident_id: r for r in residents}
    records = list(records)
    to_do: list[PassItem] = []
    done = missed = 0
    for state in order_states:
        resident = who.get(state.order.resident_id)
        if resident is None:
            continue
        for dose in dose_statuses(state, records, start, end, now=now, facility=facility):
            if dose.status in TO_DO:
                to_do.append(PassItem(resident, state.order, dose, not state.givable))
            elif dose.status in DONE:
                done += 1
            elif dose.status is DoseStatus.MISSED:
                missed += 1
    rank = {status: index for index, status in enumerate(TO_DO)}
    to_do.sort(key=lambda item: (
        rank[item.dose.status],
        room_key(item.resident.room),
        item.dose.scheduled_for,
        item.resident.display_name.casefold(),
        item.order.drug.casefold(),
    ))
    return PassList(tuple(to_do), done, missed, start, end, now)
