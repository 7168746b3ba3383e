"""Helpers for the storage tests: a realistic mixed history and table snapshots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from mar_desktop import kinds
from mar_desktop.envelope import Actor, EntryDraft, new_id
from mar_desktop.model import Outcome, Role
from storage.database import Connection, connect
from storage.projections import PROJECTION_TABLES
from tests import factories as f


def mixed_history(ledger: Any) -> dict[str, Any]:
    """Appends a realistic mix of every projected kind through ``ledger``; returns ids."""
    drafts, ids = f.small_facility(3)
    stored = list(ledger.append(drafts))
    r0, r1, r2 = ids["resident_ids"]
    o0, o1, _ = ids["order_ids"]
    p0 = ids["prn_order_ids"][0]
    t = f.T0
    given = ledger.append([f.administration(r0, o0, scheduled_for=t), f.audit("administration")])[0]
    refused = ledger.append(
        [
            f.administration(
                r1,
                o1,
                scheduled_for=t,
                outcome=Outcome.REFUSED,
                reason_code="R",
                reason_text="declined",
            )
        ]
    )[0]
    prn = ledger.append(
        [
            f.administration(
                r0,
                p0,
                scheduled_for=None,
                administered_at=t + timedelta(hours=1),
                prn_reason="headache",
                pain_score=6,
            )
        ]
    )[0]
    wrong = ledger.append([f.administration(r2, ids["order_ids"][2], scheduled_for=t)])[0]
    new_user = f.user(username="cna.test", role=Role.CNA)
    user_id = new_user.body["user"]["user_id"]
    changed_user = dict(new_user.body["user"], active=False)
    replacement = f.order_model(r1, drug="Metoprolol succinate", times=("09:00",))
    stored += ledger.append(
        [
            f.void(wrong.id),
            f.amend(given.id, "resident tolerated well"),
            f.amend(given.id, "BP 128/80 after dose"),
            f.followup(prn.id, t + timedelta(hours=2)),
            f.order_status(kinds.ORDER_HELD, o0, t + timedelta(hours=2)),
            f.order_status(kinds.ORDER_RESUMED, o0, t + timedelta(hours=6)),
            f.draft(
                kinds.ORDER_CHANGED,
                kinds.OrderChanged(
                    replaces_order_id=o1,
                    order=replacement,
                    reason="dose change",
                    effective_at=t + timedelta(hours=3),
                ),
            ),
            f.settings_changed(prn_followup_minutes=45),
            new_user,
            EntryDraft(
                kinds.USER_CHANGED,
                f.ADMIN,
                {"v": 1, "before": new_user.body["user"], "after": changed_user, "reason": "left"},
            ),
            f.draft(
                kinds.RESIDENT_TRANSFERRED,
                kinds.ResidentTransferred(resident_id=r2, unit_id=ids["unit_id"], room="201B"),
            ),
            f.draft(kinds.RESIDENT_DISCHARGED, kinds.ResidentDischarged(resident_id=r1)),
            f.draft(
                kinds.ALERT_RAISED,
                kinds.AlertRaised(
                    alert_id="alert-1",
                    alert_type="double_dose",
                    resident_id=r0,
                    order_id=o0,
                    related_entry_ids=(given.id,),
                    detail="two doses",
                ),
            ),
            f.draft(
                kinds.ALERT_RAISED,
                kinds.AlertRaised(alert_id="alert-2", alert_type="clock_skew", detail="skew"),
            ),
            f.draft(
                kinds.ALERT_ACKNOWLEDGED,
                kinds.AlertAcknowledged(alert_id="alert-1", comment="checked with resident"),
            ),
            f.audit("user_changed"),
        ]
    )
    # Order verification: a check by someone else, a return, the server's upgrade entry, the
    # facility setting and an urgent dose on an unverified order.
    order_entry = {
        e.body["order"]["order_id"]: e.id
        for e in stored
        if e.kind in (kinds.ORDER_CREATED, kinds.ORDER_CHANGED)
    }
    ledger.append(
        [
            f.draft(
                kinds.ORDER_VERIFIED,
                kinds.OrderVerified(
                    order_id=o0, target_entry_id=order_entry[o0],
                    target_author_user_id=f.ADMIN.user_id,
                ),
                actor=f.NURSE,
            ),
            f.draft(
                kinds.ORDER_RETURNED,
                kinds.OrderReturned(
                    order_id=replacement.order_id,
                    target_entry_id=order_entry[replacement.order_id],
                    target_author_user_id=f.ADMIN.user_id,
                    reason="dose not on the prescription",
                ),
                actor=f.NURSE,
            ),
            f.draft(
                kinds.ORDERS_VERIFIED_AT_UPGRADE,
                kinds.OrdersVerifiedAtUpgrade(order_ids=(p0,), detail="in use at the upgrade"),
            ),
            f.draft(
                kinds.VERIFICATION_SETTING_CHANGED,
                kinds.VerificationSettingChanged(hand_entered_orders=False, reason="policy"),
            ),
            f.draft(
                kinds.URGENT_DOSE_RECORDED,
                kinds.UrgentDoseRecorded(
                    administration_entry_id=refused.id,
                    resident_id=r1,
                    order_id=o1,
                    reason="resident in pain",
                    second_person=kinds.WitnessAttestation(
                        user_id="user-nurse", full_name="N. Urse", role="nurse",
                        authenticated_at=t,
                    ),
                ),
                actor=f.NURSE,
            ),
            f.draft(
                kinds.SHIFT_ASSIGNED,
                kinds.ShiftAssigned(
                    assignment_id="assignment-1",
                    user_id="user-cna",
                    unit_id="unit-1",
                    rooms=("101", "102"),
                    resident_ids=(r2,),
                    shift_name="day",
                    starts_at=t,
                    ends_at=t + timedelta(hours=8),
                ),
                actor=f.NURSE,
            ),
        ]
    )
    # A proven witness: the witness's sign-in entry naming the dose, then the dose's waste with
    # its own witness entry (docs/architecture.md#the-witness-entry).
    attestation = kinds.WitnessAttestation(
        user_id="user-nurse2", full_name="N. Two", role="nurse", authenticated_at=t
    )
    witnessed = kinds.WitnessedDose(
        resident_id=r0, order_id=o0, scheduled_for=t, amount=Decimal("25"), unit="mg"
    )
    waste_id = new_id()
    attested = ledger.append(
        [
            f.draft(
                kinds.WITNESS_ATTESTED,
                kinds.WitnessAttested(
                    purpose="administration", record_entry_id=given.id,
                    device_id=ledger.device_id, giver_user_id=f.NURSE.user_id,
                    dose=witnessed, witness=attestation,
                ),
                actor=WITNESS_ACTOR,
            ),
            f.draft(
                kinds.WITNESS_ATTESTED,
                kinds.WitnessAttested(
                    purpose="waste", record_entry_id=waste_id, of_entry_id=given.id,
                    device_id=ledger.device_id, giver_user_id=f.NURSE.user_id,
                    dose=witnessed.model_copy(update={"amount": Decimal("5")}),
                    witness=attestation,
                ),
                actor=WITNESS_ACTOR,
            ),
        ]
    )
    wasted = ledger.append(
        [
            EntryDraft(
                kinds.DOSE_WASTED,
                f.NURSE,
                kinds.body_json(
                    kinds.DoseWasted(
                        administration_entry_id=given.id, resident_id=r0, order_id=o0,
                        amount=Decimal("5"), unit="mg", reason="partial vial",
                        witness_entry_id=attested[1].id, witness=attestation, wasted_at=t,
                    )
                ),
                waste_id,
            )
        ]
    )
    assert wasted[0].id == waste_id
    return {
        **ids,
        "given": given.id,
        "refused": refused.id,
        "prn": prn.id,
        "voided": wrong.id,
        "user_id": user_id,
        "replacement": replacement.order_id,
    }


WITNESS_ACTOR = Actor(user_id="user-nurse2", role="nurse")


_LINKED_ADMINISTRATIONS = (
    "SELECT l.id, a.* FROM administrations a LEFT JOIN ledger l ON l.rowid = a.ledger_rowid"
)
"""Administrations with their ``ledger_rowid`` (a local row number: it depends on the order
entries arrived in, as every table's hidden rowid does) shown as what it must mean — the id of
the ledger entry in that row — so a snapshot still tells a broken link from a good one."""


def snapshot(conn: Connection, tables: tuple[str, ...] = PROJECTION_TABLES) -> dict[str, list[Any]]:
    """Every row of every table, sorted, for equality checks (see _LINKED_ADMINISTRATIONS)."""
    result = {}
    for table in tables:
        if table == "administrations":
            rows = [(r[0], *r[2:]) for r in conn.execute(_LINKED_ADMINISTRATIONS)]
        else:
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()
        result[table] = sorted(rows, key=repr)
    return result


_VERSION_6_TABLE = (
    ("entry_id", "TEXT PRIMARY KEY"),
    ("resident_id", "TEXT NOT NULL"),
    ("order_id", "TEXT NOT NULL"),
    ("scheduled_for", "TEXT"),
    ("administered_at", "TEXT NOT NULL"),
    ("recorded_at", "TEXT NOT NULL"),
    ("outcome", "TEXT NOT NULL"),
    ("actor_user_id", "TEXT NOT NULL"),
    ("actor_role", "TEXT NOT NULL"),
    ("device_id", "TEXT NOT NULL"),
    ("reason_code", "TEXT"),
    ("reason_text", "TEXT NOT NULL"),
    ("dose_given", "TEXT"),
    ("dose_unit", "TEXT NOT NULL"),
    ("route", "TEXT NOT NULL"),
    ("site", "TEXT NOT NULL"),
    ("note", "TEXT NOT NULL"),
    ("prn_reason", "TEXT NOT NULL"),
    ("pain_score", "INTEGER"),
    ("outside_window_reason", "TEXT NOT NULL"),
    ("witness_user_id", "TEXT"),
    ("witness_name", "TEXT"),
    ("vitals_json", "TEXT NOT NULL"),
)
VERSION_6_COLUMNS = tuple(name for name, _ in _VERSION_6_TABLE)
"""The administrations columns of releases 6 and before, in table order."""


def back_to_version_6_administrations(conn: Connection) -> None:
    """Rebuilds the administrations table as releases 6 and before left it (keyed by ``entry_id
    TEXT PRIMARY KEY``, no ledger_rowid, no link triggers), holding the same records. Inside the
    caller's transaction."""
    names = ", ".join(VERSION_6_COLUMNS)
    declared = ", ".join(f"{name} {decl}" for name, decl in _VERSION_6_TABLE)
    conn.execute(f"CREATE TABLE old_administrations AS SELECT {names} FROM administrations")
    conn.execute("DROP TABLE administrations")
    conn.execute(f"CREATE TABLE administrations ({declared})")
    conn.execute(f"INSERT INTO administrations SELECT {names} FROM old_administrations")
    conn.execute("DROP TABLE old_administrations")
    conn.execute(
        "CREATE INDEX administrations_by_resident ON administrations (resident_id, administered_at)"
    )
    conn.execute(
        "CREATE INDEX administrations_by_resident_sched "
        "ON administrations (resident_id, scheduled_for)"
    )


def _drop_totp_last_step(conn: Connection) -> None:
    conn.execute("DROP TABLE totp_last_step")


def _drop_account_records(conn: Connection) -> None:
    conn.execute("DROP TABLE account_records")


def _undo_order_verification(conn: Connection) -> None:
    conn.execute("DROP INDEX orders_by_replaced")
    for column in (
        "author_user_id", "verification", "acts_at_once", "replaces_order_id", "source",
        "source_json",
    ):
        conn.execute(f"ALTER TABLE orders DROP COLUMN {column}")
    conn.execute("ALTER TABLE order_events DROP COLUMN author_user_id")
    conn.execute("ALTER TABLE facility DROP COLUMN verify_hand_entered")
    conn.execute("ALTER TABLE facility DROP COLUMN verify_stamp")
    conn.execute("DROP TABLE order_checks")
    conn.execute("DROP TABLE urgent_doses")


def _drop_snapshot_tables(conn: Connection) -> None:
    conn.execute("DROP TABLE sync_chain_anchor")
    conn.execute("DROP TABLE sync_snapshot")


def _drop_witness_tables(conn: Connection) -> None:
    conn.execute("DROP TABLE witness_attestations")
    conn.execute("DROP TABLE dose_wastes")


def _drop_shift_assignments(conn: Connection) -> None:
    conn.execute("DROP TABLE shift_assignments")


UNDO: dict[int, Callable[[Connection], None]] = {
    9: _drop_totp_last_step,
    10: _drop_account_records,
    11: _undo_order_verification,
    12: _drop_snapshot_tables,
    13: _drop_witness_tables,
    14: _drop_shift_assignments,
}
"""Migrations that only add tables and columns, undone by dropping them (newest last)."""


def undo_migrations_after(conn: Connection, version: int) -> None:
    """In the caller's transaction: drops what the additive migrations above ``version`` made
    and the schema_version rows above ``version``."""
    for number in sorted(UNDO, reverse=True):
        if number > version:
            UNDO[number](conn)
    conn.execute("DELETE FROM schema_version WHERE version > ?", (version,))


def back_to_release(
    path: Path, key: bytes, version: int, *older: Callable[[Connection], None]
) -> None:
    """Takes the closed database at ``path`` back to what release ``version`` left: each of
    ``older``, then :func:`undo_migrations_after`, in one transaction."""
    conn = connect(path, key)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for step in older:
            step(conn)
        undo_migrations_after(conn, version)
        conn.execute("COMMIT")
    finally:
        conn.close()
