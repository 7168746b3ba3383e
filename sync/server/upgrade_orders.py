"""The one server-signed entry that marks a facility's existing orders as verified when the
server is upgraded to order verification (docs/architecture.md#order-verification).

Orders recorded before order verification existed (``order.created``/``order.changed`` body
v1) were in use and are not re-checked by hand: the server, which upgrades first, records ONE
``order.verified_at_upgrade`` entry per facility naming every such order still in force, so
every tablet, a new one included, sees them verified from its first pull (and no tablet writes
its own). Orders recorded later, by any version, are not in it: a v1 order an older tablet
records after the upgrade awaits verification on the upgraded tablets (the most restrictive
reading).

Runs at ``mar-server serve`` start (:func:`mark_existing_orders`; for a facility with no
orders yet the entry is empty, and says there is nothing left to look for). Idempotent:
under the facility's write lock it first looks for the entry in the server device's chain, so
several processes starting at once write it once. Any thread; its own transaction.
"""

from __future__ import annotations

from datetime import datetime

from mar_desktop import kinds
from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft, parse_raw
from mar_desktop.errors import MarError
from sync.server.core import ServerCore

_PAGE = 1000
DETAIL = "Orders in use when order verification was introduced: verified as they were."


def mark_existing_orders(core: ServerCore) -> int:
    """For every facility without the entry: records it. Returns how many were written."""
    return sum(mark_facility(core, f) for f in core.store.facility_ids())


def mark_facility(core: ServerCore, facility_id: str) -> int:
    """Records the facility's ``order.verified_at_upgrade`` entry unless it has one: 1 if
    written, else 0. Raises ``MarError`` from the store."""
    store = core.store
    with store.write() as txn:
        txn.lock_facility(facility_id)
        server = txn.server_device_id(facility_id)
        if server is None:
            return 0
        if store.entries_of_kind(facility_id, server, kinds.ORDERS_VERIFIED_AT_UPGRADE):
            return 0
        body = kinds.OrdersVerifiedAtUpgrade(
            order_ids=tuple(_orders_in_force(core, facility_id)), detail=DETAIL
        )
        draft = EntryDraft(kinds.ORDERS_VERIFIED_AT_UPGRADE, SYSTEM_ACTOR, kinds.body_json(body))
        core.append_server_entries(txn, facility_id, [draft])
    return 1


def _orders_in_force(core: ServerCore, facility_id: str) -> list[str]:
    """The v1 orders of the facility's feed not discontinued and not ended, in feed order."""
    now = core.clock.now()
    orders: dict[str, datetime | None] = {}  # order id -> end
    stopped: set[str] = set()
    after = 0
    while True:
        page = core.store.feed(facility_id, "ledger", after, _PAGE)
        for stored in page:
            after = stored.pos
            if stored.kind not in _ORDER_KINDS:
                continue
            entry = parse_raw(stored.raw, known_canonical=True)
            try:
                body = kinds.parse_body(entry.kind, entry.body)
            except MarError:
                continue
            if isinstance(body, kinds.OrderCreated | kinds.OrderChanged) and body.v == 1:
                orders[body.order.order_id] = body.order.end
            if isinstance(body, kinds.OrderChanged) and body.replaces_now:
                stopped.add(body.replaces_order_id)
            elif (
                isinstance(body, kinds.OrderStatusChanged)
                and entry.kind == kinds.ORDER_DISCONTINUED
                and body.effective_at <= now
            ):
                stopped.add(body.order_id)
        if len(page) < _PAGE:
            break
    return [o for o, end in orders.items() if o not in stopped and (end is None or end > now)]


_ORDER_KINDS = frozenset({kinds.ORDER_CREATED, kinds.ORDER_CHANGED, kinds.ORDER_DISCONTINUED})
__all__ = ["DETAIL", "mark_existing_orders", "mark_facility"]
