"""Read-model queries of order verification (docs/architecture.md#order-verification): the
facility's setting for hand-entered orders, what awaits verification, the checks recorded,
and urgent doses on unverified orders. A mixin of :class:`storage.read_model.SqlReadModel`;
the same contract (its thread's own connection, never writes, snapshots hold PHI)."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from mar_desktop.clock import utc_iso
from mar_desktop.model import Order
from mar_desktop.views import (
    OrderCheck,
    OrderState,
    OrderStatus,
    PendingVerification,
    UrgentDose,
)
from storage.database import Connection
from storage.read_model_sql import ORDER_CHECKS, ORDER_EVENTS, ORDERS_AWAITING

_SOURCES = (
    "SELECT o.order_id, o.source, o.source_json, l.recorded_at, "
    "(SELECT p.order_json FROM orders p WHERE p.order_id = o.replaces_order_id), "
    "(SELECT json_extract(CAST(l.raw AS TEXT), '$.body.reason') WHERE l.kind = 'order.changed') "
    "FROM orders o JOIN ledger l ON l.id = o.entry_id "
    "WHERE o.order_id IN (SELECT value FROM json_each(?))"
)
# A hold, resume or discontinuation no check names yet, of an order not replaced by a change
# (the discontinuation that ends a changed order's previous version is part of the change).
_STATUS_AWAITING = (
    "SELECT e.entry_id, e.order_id, e.event, e.reason, e.author_user_id, l.recorded_at "
    "FROM order_events e JOIN ledger l ON l.id = e.entry_id "
    "WHERE e.replaced_by IS NULL AND l.kind IN "
    "('order.held', 'order.resumed', 'order.discontinued') "
    "AND NOT EXISTS (SELECT 1 FROM order_checks c WHERE c.target_entry_id = e.entry_id) "
    "AND NOT EXISTS (SELECT 1 FROM orders r WHERE r.replaces_order_id = e.order_id "
    "AND NOT EXISTS (SELECT 1 FROM order_checks x WHERE x.order_id = r.order_id "
    "AND x.decision = 'returned' AND x.target_entry_id = r.entry_id)) "
    "ORDER BY l.recorded_at, e.entry_id"
)
_URGENT = (
    "SELECT administration_entry_id, resident_id, order_id, reason, actor_user_id, "
    "second_user_id, second_name, recorded_at FROM urgent_doses "
    "WHERE recorded_at >= ? AND recorded_at < ? ORDER BY recorded_at, entry_id"
)


class VerificationReads:
    """Verification queries; :class:`~storage.read_model.SqlReadModel` supplies the rest."""

    _conn: Connection

    def _order_states(
        self, order_rows: list[Any], event_rows: list[Any], check_rows: list[Any]
    ) -> list[OrderState]:
        raise NotImplementedError

    def order(self, order_id: str) -> OrderState | None:
        raise NotImplementedError

    def hand_entry_verification(self) -> bool:
        """Whether hand-entered orders need verification now (default: they do)."""
        row = self._conn.execute(
            "SELECT verify_hand_entered FROM facility WHERE singleton = 1"
        ).fetchone()
        return row is None or row[0] is None or bool(row[0])

    def order_checks(self, order_id: str) -> list[OrderCheck]:
        rows = self._conn.execute(ORDER_CHECKS, (json.dumps([order_id]),)).fetchall()
        return [
            OrderCheck(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5])) for r in rows
        ]

    def pending_verifications(
        self, resident_ids: Collection[str] | None = None
    ) -> list[PendingVerification]:
        """Orders awaiting verification that still run (not discontinued, not ended), then
        holds, resumes and discontinuations not verified yet; of ``resident_ids`` (None:
        all). Oldest first within each part."""
        conn = self._conn
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            rows = conn.execute(ORDERS_AWAITING).fetchall()
            ids = json.dumps([r[0] for r in rows])
            events = conn.execute(ORDER_EVENTS, (ids,)).fetchall()
            checks = conn.execute(ORDER_CHECKS, (ids,)).fetchall()
            sources = {r[0]: r for r in conn.execute(_SOURCES, (ids,))}
            status_rows = conn.execute(_STATUS_AWAITING).fetchall()
        finally:
            if own:
                conn.execute("COMMIT")
        wanted = None if resident_ids is None else set(resident_ids)
        out: list[PendingVerification] = []
        for state in self._order_states(rows, events, checks):
            if not state.awaiting_verification or state.status == OrderStatus.DISCONTINUED:
                continue
            if wanted is not None and state.order.resident_id not in wanted:
                continue
            _id, source, source_json, entered, previous, reason = sources[state.order_id]
            out.append(
                PendingVerification(
                    state=state,
                    what="change" if state.replaces else "new",
                    target_entry_id=state.entry_id,
                    author_user_id=state.author_user_id,
                    entered_at=datetime.fromisoformat(entered),
                    source=source,
                    source_values=tuple((f, v) for f, v in json.loads(source_json)),
                    previous=None if previous is None else Order.model_validate_json(previous),
                    reason=reason or "",
                )
            )
        out.sort(key=lambda p: p.entered_at)
        for entry_id, order_id, event, reason, author, entered in status_rows:
            found = self.order(order_id)
            if found is None or (wanted is not None and found.order.resident_id not in wanted):
                continue
            out.append(
                PendingVerification(
                    state=found,
                    what=event,
                    target_entry_id=entry_id,
                    author_user_id=author,
                    entered_at=datetime.fromisoformat(entered),
                    source="hand",
                    reason=reason,
                )
            )
        return out

    def urgent_doses(self, *, since: datetime, until: datetime) -> list[UrgentDose]:
        """Urgent doses on unverified orders recorded in ``[since, until)``, oldest first."""
        rows = self._conn.execute(_URGENT, (utc_iso(since), utc_iso(until))).fetchall()
        return [
            UrgentDose(r[0], r[1], r[2], r[3], r[4], r[5], r[6], datetime.fromisoformat(r[7]))
            for r in rows
        ]
