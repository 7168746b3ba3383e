"""Projections of clinical entries: administrations and what later entries say about them.

Voids, note amendments, PRN follow-ups and alert acknowledgements are rows of their own keyed
by the entry they refer to, so one may arrive (by sync) before its target and the read model
still joins them correctly. Called by :mod:`storage.projections` inside the writer's
transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from mar_desktop import kinds
from mar_desktop.canonical import canonical_text
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry
from mar_desktop.kinds import Body
from storage.database import Connection

ADMINISTRATION_INSERT = (
    "INSERT INTO administrations (ledger_rowid, entry_id, resident_id, order_id, scheduled_for, "
    "administered_at, recorded_at, outcome, actor_user_id, actor_role, device_id, reason_code, "
    "reason_text, dose_given, dose_unit, route, site, note, prn_reason, pain_score, "
    "outside_window_reason, witness_user_id, witness_name, vitals_json) "
    "VALUES ((SELECT rowid FROM ledger WHERE id = ?1), ?1, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""Keyed by the entry's ledger row (migration 0007), found by the ledger's index on ``id``: the
entry is always stored before it is projected, in the same transaction. Parameters: the
administrations columns from ``entry_id`` on, in table order (the storage-alone benchmark
replays stored rows through it)."""
def _administration(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.AdministrationRecorded)
    vitals = {k: str(v) for k, v in body.vitals if v is not None}
    witness = body.witness
    conn.execute(
        ADMINISTRATION_INSERT,
        (
            entry.id,
            body.resident_id,
            body.order_id,
            None if body.scheduled_for is None else utc_iso(body.scheduled_for),
            utc_iso(body.administered_at),
            entry.recorded_at,
            str(body.outcome),
            entry.actor.get("user_id", ""),
            entry.actor.get("role", ""),
            entry.device_id,
            body.reason_code,
            body.reason_text,
            None if body.dose_given is None else str(body.dose_given),
            body.dose_unit,
            body.route,
            body.site,
            body.note,
            body.prn_reason,
            body.pain_score,
            body.outside_window_reason,
            None if witness is None else witness.user_id,
            None if witness is None else witness.full_name,
            canonical_text(vitals),
        ),
    )


def _voided(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.EntryVoided)
    conn.execute(
        "INSERT INTO voids (entry_id, target_entry_id, reason, actor_user_id, recorded_at, stamp) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            body.target_entry_id,
            body.reason,
            entry.actor.get("user_id", ""),
            entry.recorded_at,
            stamp,
        ),
    )


def _amended(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.NoteAmended)
    conn.execute(
        "INSERT INTO amendments (entry_id, target_entry_id, author_user_id, recorded_at, text, "
        "stamp) VALUES (?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            body.target_entry_id,
            entry.actor.get("user_id", ""),
            entry.recorded_at,
            body.text,
            stamp,
        ),
    )


def _followup(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.PrnFollowupRecorded)
    conn.execute(
        "INSERT INTO prn_followups (entry_id, target_entry_id, effective, pain_score, note, "
        "assessed_at, actor_user_id, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            body.target_entry_id,
            body.effective,
            body.pain_score,
            body.note,
            utc_iso(body.assessed_at),
            entry.actor.get("user_id", ""),
            stamp,
        ),
    )


def _alert_raised(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.AlertRaised)
    conn.execute(
        "INSERT INTO alerts (alert_id, entry_id, alert_type, raised_at, resident_id, order_id, "
        "device_id, detail, related_json, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (alert_id) DO UPDATE SET entry_id = excluded.entry_id, "
        "alert_type = excluded.alert_type, raised_at = excluded.raised_at, "
        "resident_id = excluded.resident_id, order_id = excluded.order_id, "
        "device_id = excluded.device_id, detail = excluded.detail, "
        "related_json = excluded.related_json, stamp = excluded.stamp "
        "WHERE excluded.stamp > alerts.stamp",
        (
            body.alert_id,
            entry.id,
            body.alert_type,
            entry.recorded_at,
            body.resident_id,
            body.order_id,
            body.device_id,
            body.detail,
            canonical_text(list(body.related_entry_ids)),
            stamp,
        ),
    )


def _alert_acknowledged(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.AlertAcknowledged)
    conn.execute(
        "INSERT INTO alert_acks (entry_id, alert_id, user_id, acked_at, comment, stamp) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            body.alert_id,
            entry.actor.get("user_id", ""),
            entry.recorded_at,
            body.comment,
            stamp,
        ),
    )


CLINICAL: dict[str, Callable[[Connection, Entry, Body, str], None]] = {
    kinds.ADMINISTRATION_RECORDED: _administration,
    kinds.ENTRY_VOIDED: _voided,
    kinds.NOTE_AMENDED: _amended,
    kinds.PRN_FOLLOWUP_RECORDED: _followup,
    kinds.ALERT_RAISED: _alert_raised,
    kinds.ALERT_ACKNOWLEDGED: _alert_acknowledged,
}
