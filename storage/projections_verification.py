"""Projections of order verification: verifications and returns, the server's upgrade entry,
the facility's setting for hand-entered orders, and urgent doses on unverified orders
(docs/architecture.md#order-verification).

Each check is a row of its own (``order_checks``), keyed by the entry that made it; whether it
counts (the verifier is not the author) is decided when read, so folding does not depend on
arrival order. Called by :mod:`storage.projections` inside the writer's transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from mar_desktop import kinds
from mar_desktop.envelope import Entry
from mar_desktop.kinds import Body
from storage.database import Connection

_CHECK = (
    "INSERT OR IGNORE INTO order_checks (entry_id, order_id, target_entry_id, decision, "
    "actor_user_id, actor_role, reason, recorded_at, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _checked(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    """A verification (its note) or a return (its reason) of one entry of one order."""
    assert isinstance(body, kinds.OrderVerified | kinds.OrderReturned)
    verified = isinstance(body, kinds.OrderVerified)
    row = (entry.id, body.order_id, body.target_entry_id, "verified" if verified else "returned")
    text = body.note if isinstance(body, kinds.OrderVerified) else body.reason
    actor = (entry.actor["user_id"], entry.actor["role"])
    conn.execute(_CHECK, (*row, *actor, text, entry.recorded_at, stamp))


def _upgrade(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    """The server's one entry: each order it names counts as verified (its own entry)."""
    assert isinstance(body, kinds.OrdersVerifiedAtUpgrade)
    conn.executemany(
        _CHECK,
        [
            (
                entry.id,
                order_id,
                "",
                "upgrade",
                entry.actor["user_id"],
                entry.actor["role"],
                body.detail,
                entry.recorded_at,
                stamp,
            )
            for order_id in body.order_ids
        ],
    )


_SETTING = (
    "INSERT INTO facility (singleton, verify_hand_entered, verify_stamp) VALUES (1, ?, ?) "
    "ON CONFLICT (singleton) DO UPDATE SET verify_hand_entered = excluded.verify_hand_entered, "
    "verify_stamp = excluded.verify_stamp "
    "WHERE excluded.verify_stamp > coalesce(facility.verify_stamp, '')"
)


def _setting(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.VerificationSettingChanged)
    conn.execute(_SETTING, (int(body.hand_entered_orders), stamp))


def _urgent(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.UrgentDoseRecorded)
    conn.execute(
        "INSERT OR IGNORE INTO urgent_doses (entry_id, administration_entry_id, resident_id, "
        "order_id, reason, second_user_id, second_name, actor_user_id, recorded_at, stamp) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            body.administration_entry_id,
            body.resident_id,
            body.order_id,
            body.reason,
            body.second_person.user_id,
            body.second_person.full_name,
            entry.actor["user_id"],
            entry.recorded_at,
            stamp,
        ),
    )


VERIFICATION: dict[str, Callable[[Connection, Entry, Body, str], None]] = {
    kinds.ORDER_VERIFIED: _checked,
    kinds.ORDER_RETURNED: _checked,
    kinds.ORDERS_VERIFIED_AT_UPGRADE: _upgrade,
    kinds.VERIFICATION_SETTING_CHANGED: _setting,
    kinds.URGENT_DOSE_RECORDED: _urgent,
}
