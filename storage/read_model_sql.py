"""SQL of the read model (:mod:`storage.read_model`): statements are constants so the
connection's statement cache prepares each once; id sets are passed as one JSON array
parameter (``json_each``) so every set size uses the same prepared statement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mar_desktop.views import Amendment

RESIDENT_COLUMNS = (
    "resident_id, resident_json, demo_stamp, unit_id, room, loc_stamp, active, active_stamp"
)

ORDER_COLUMNS = (
    "order_id, order_json, stamp, entry_id, author_user_id, verification, acts_at_once, "
    "replaces_order_id"
)
"""What an order state is built from (:func:`storage.read_model_orders.build_order_state`)."""
ORDERS_BY_RESIDENTS = (
    f"SELECT {ORDER_COLUMNS} FROM orders "
    "WHERE resident_id IN (SELECT value FROM json_each(?)) ORDER BY resident_id, drug, order_id"
)
ORDER_AND_CHANGES = (
    f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ?1 "
    f"UNION ALL SELECT {ORDER_COLUMNS} FROM orders WHERE replaces_order_id = ?1"
)
"""One order and the changes of it (its pending or verified replacements)."""
ORDERS_AWAITING = (
    f"SELECT {ORDER_COLUMNS} FROM orders WHERE verification = 'required' AND NOT EXISTS ("
    "SELECT 1 FROM order_checks c WHERE c.order_id = orders.order_id "
    "AND (c.decision IN ('upgrade', 'returned') OR (c.decision = 'verified' "
    "AND c.target_entry_id = orders.entry_id AND c.actor_user_id != orders.author_user_id))) "
    "ORDER BY resident_id, drug, order_id"
)
"""Orders no check has settled yet (candidates: the read model decides)."""
ORDER_CHECKS = (
    "SELECT order_id, target_entry_id, decision, actor_user_id, reason, recorded_at "
    "FROM order_checks WHERE order_id IN (SELECT value FROM json_each(?)) "
    "ORDER BY order_id, stamp"
)
ORDER_EVENTS = (
    "SELECT order_id, event, effective_at, replaced_by, stamp FROM order_events "
    "WHERE order_id IN (SELECT value FROM json_each(?)) ORDER BY order_id, effective_at, stamp"
)

# Administrations: plain index range queries (see _admin_queries), run as one UNION ALL and
# ordered in Python. Each row says whether any later entry refers to it (``touched``: a void,
# follow-up or amendment, probed on their by-target indexes); only for those rows, usually
# none, are the details fetched, by target id in one query each.
_ADMIN_COLUMNS = """
SELECT a.entry_id, a.resident_id, a.order_id, a.scheduled_for, a.administered_at,
       a.recorded_at, a.outcome, a.actor_user_id, a.actor_role, a.device_id, a.reason_code,
       a.reason_text, a.dose_given, a.dose_unit, a.route, a.site, a.note, a.prn_reason,
       a.pain_score, a.outside_window_reason, a.witness_user_id, a.witness_name, a.vitals_json,
       o.is_prn, o.prn_followup_minutes,
       EXISTS (SELECT 1 FROM voids WHERE target_entry_id = a.entry_id)
       OR EXISTS (SELECT 1 FROM prn_followups WHERE target_entry_id = a.entry_id)
       OR EXISTS (SELECT 1 FROM amendments WHERE target_entry_id = a.entry_id)
       OR EXISTS (SELECT 1 FROM urgent_doses WHERE administration_entry_id = a.entry_id)
       OR EXISTS (SELECT 1 FROM witness_attestations WHERE record_entry_id = a.entry_id)
       OR EXISTS (SELECT 1 FROM dose_wastes WHERE administration_entry_id = a.entry_id)
       AS touched
FROM administrations a LEFT JOIN orders o ON o.order_id = a.order_id
"""
COL_IS_PRN, COL_FOLLOWUP_MINUTES, COL_TOUCHED = 23, 24, 25
_IN_RESIDENTS = "a.resident_id IN (SELECT value FROM json_each(:residents))"
_IN_ORDERS = "a.order_id IN (SELECT value FROM json_each(:orders))"
# an order filter alone goes through the orders' residents, so the by-resident indexes serve it
_ORDERS_RESIDENTS = (
    "a.resident_id IN (SELECT resident_id FROM orders "
    "WHERE order_id IN (SELECT value FROM json_each(:orders)))"
)
_ALL_RESIDENTS = "a.resident_id IN (SELECT resident_id FROM residents)"
_GIVEN_IN = "a.administered_at >= :since AND a.administered_at < :until"
_SCHEDULED_IN = "a.scheduled_for >= :since AND a.scheduled_for < :until"
NEAR_SLOT = "coalesce(abs(julianday(a.administered_at) - julianday(a.scheduled_for)) <= 0.5, 0)"
"""1 for a record given within 12 hours of its slot, else 0 (also for no slot, or a time
julianday() cannot read). ``NOT`` it is the condition of migration 0008's index, term for term,
so the far part of each range query can search that index."""
NEAR_SLACK = timedelta(hours=12, minutes=1)
"""How far ``:near_since`` lies before ``:since`` and ``:near_until`` after ``:until``: the 12
hours of :data:`NEAR_SLOT` and a minute more than julianday()'s millisecond rounding."""


def _admin_queries(scope: str) -> tuple[str, ...]:
    """The disjoint parts that together find every record of ``scope`` given, or scheduled, in
    ``[:since, :until)``: given in it; given outside it within 12 hours of a slot in it (before,
    after: on the by-time index, widened by :data:`NEAR_SLACK`); and for a slot in it,
    given further away (on migration 0008's index, which holds only those rows)."""
    return (
        f"{_ADMIN_COLUMNS} WHERE {scope} AND {_GIVEN_IN}",
        f"{_ADMIN_COLUMNS} WHERE {scope} AND a.administered_at >= :near_since "
        f"AND a.administered_at < :since AND {_SCHEDULED_IN} AND {NEAR_SLOT}",
        f"{_ADMIN_COLUMNS} WHERE {scope} AND a.administered_at >= :until "
        f"AND a.administered_at < :near_until AND {_SCHEDULED_IN} AND {NEAR_SLOT}",
        f"{_ADMIN_COLUMNS} WHERE {scope} AND a.scheduled_for IS NOT NULL AND NOT {NEAR_SLOT} "
        f"AND {_SCHEDULED_IN} AND NOT ({_GIVEN_IN})",
    )


ADMIN_QUERIES: dict[str, tuple[str, ...]] = {
    # one resident's doses of one order (the rules' history read, on every record): plain
    # equalities, no json_each set to build
    "one": _admin_queries("a.resident_id = :resident AND a.order_id = :order"),
    "residents": _admin_queries(_IN_RESIDENTS),
    "orders": _admin_queries(f"{_ORDERS_RESIDENTS} AND {_IN_ORDERS}"),
    "both": _admin_queries(f"{_IN_RESIDENTS} AND {_IN_ORDERS}"),
    "all": _admin_queries(_ALL_RESIDENTS),
}
ADMIN_IN_RANGE: dict[str, str] = {
    mode: " UNION ALL ".join(parts) for mode, parts in ADMIN_QUERIES.items()
}
"""The parts of a scope as one statement (one round trip); no row is in two parts."""
ADMIN_BY_ID = (
    f"{_ADMIN_COLUMNS} WHERE a.ledger_rowid = (SELECT rowid FROM ledger WHERE id = ?1) "
    "AND a.entry_id = ?1"
)
"""One record by entry id: the ledger's index on ``id`` gives the row the record is keyed by."""

VOIDS = (
    "SELECT target_entry_id, reason, actor_user_id, recorded_at FROM voids "
    "WHERE target_entry_id IN (SELECT value FROM json_each(?)) ORDER BY stamp DESC"
)
FOLLOWUPS = (
    "SELECT target_entry_id, assessed_at, effective FROM prn_followups "
    "WHERE target_entry_id IN (SELECT value FROM json_each(?)) "
    "ORDER BY assessed_at DESC, stamp DESC"
)
AMENDMENTS = (
    "SELECT target_entry_id, entry_id, author_user_id, recorded_at, text FROM amendments "
    "WHERE target_entry_id IN (SELECT value FROM json_each(?)) ORDER BY target_entry_id, stamp"
)

URGENT = (
    "SELECT administration_entry_id, reason, second_name FROM urgent_doses "
    "WHERE administration_entry_id IN (SELECT value FROM json_each(?)) ORDER BY stamp DESC"
)

WITNESSED = (
    "SELECT w.record_entry_id, w.entry_id, w.witness_name, w.witness_credentials, "
    "w.witness_user_id, w.user_public "
    "FROM witness_attestations w JOIN administrations a ON a.entry_id = w.record_entry_id "
    "WHERE w.record_entry_id IN (SELECT value FROM json_each(?)) AND w.purpose = 'administration' "
    "AND w.device_id = a.device_id AND w.named_device_id = a.device_id AND w.user_signed = 1 "
    "ORDER BY w.stamp DESC"
)
"""Witness entries that name an administration, were signed on the record's device and carry a
valid signature by the key they name; the read model then checks that key is the witness
account's (docs/architecture.md#the-witness-entry)."""
WASTES = (
    "SELECT d.administration_entry_id, d.entry_id, d.amount, d.unit, d.reason, d.witness_name, "
    "d.actor_user_id, d.wasted_at, w.witness_user_id, w.user_public FROM dose_wastes d "
    "LEFT JOIN witness_attestations w ON w.entry_id = d.witness_entry_id "
    "AND w.record_entry_id = d.entry_id AND w.purpose = 'waste' AND w.device_id = d.device_id "
    "AND w.named_device_id = d.device_id AND w.user_signed = 1 "
    "WHERE d.administration_entry_id IN (SELECT value FROM json_each(?)) "
    "ORDER BY d.wasted_at, d.stamp"
)

ALERTS = """
SELECT al.alert_id, al.entry_id, al.alert_type, al.raised_at, al.resident_id, al.order_id,
       al.detail, al.related_json, k.user_id, k.acked_at, k.comment
FROM alerts al
LEFT JOIN alert_acks k ON k.entry_id = (
    SELECT entry_id FROM alert_acks WHERE alert_id = al.alert_id ORDER BY stamp LIMIT 1)
ORDER BY al.raised_at, al.alert_id
"""


def amendments_of(rows: list[Any]) -> dict[str, tuple[Amendment, ...]]:
    """Groups amendment rows (from :data:`AMENDMENTS`) by the administration they amend."""
    from datetime import datetime

    grouped: dict[str, list[Amendment]] = {}
    for target, entry_id, author, recorded_at, text in rows:
        grouped.setdefault(target, []).append(
            Amendment(entry_id, author, datetime.fromisoformat(recorded_at), text)
        )
    return {k: tuple(v) for k, v in grouped.items()}
