"""Projections of the proven witness: ``witness.attested`` entries keyed by the record they
name, and ``administration.wasted`` entries keyed by the dose (docs/architecture.md#the-witness-
entry). Whether an attestation proves its record (same device, the record it names, the
witness's own signature) is decided when read, so folding does not depend on arrival order.
Called by :mod:`storage.projections` inside the writer's transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from mar_desktop import kinds
from mar_desktop.clinical.witness import user_signature_ok
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry
from mar_desktop.kinds import Body
from storage.database import Connection


def _attested(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.WitnessAttested)
    signed = body.user_sig is not None and user_signature_ok(body, body.user_public)
    witness = body.witness
    conn.execute(
        "INSERT OR IGNORE INTO witness_attestations (entry_id, record_entry_id, purpose, "
        "device_id, named_device_id, giver_user_id, witness_user_id, witness_name, "
        "witness_credentials, authenticated_at, user_public, user_signed, stamp) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            body.record_entry_id,
            body.purpose,
            entry.device_id,
            body.device_id,
            body.giver_user_id,
            witness.user_id,
            witness.full_name,
            witness.credentials,
            utc_iso(witness.authenticated_at),
            body.user_public,
            int(signed),
            stamp,
        ),
    )


def _wasted(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.DoseWasted)
    conn.execute(
        "INSERT OR IGNORE INTO dose_wastes (entry_id, administration_entry_id, resident_id, "
        "order_id, amount, unit, reason, witness_entry_id, witness_name, actor_user_id, "
        "device_id, wasted_at, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            body.administration_entry_id,
            body.resident_id,
            body.order_id,
            str(body.amount),
            body.unit,
            body.reason,
            body.witness_entry_id,
            body.witness.full_name,
            entry.actor["user_id"],
            entry.device_id,
            utc_iso(body.wasted_at),
            stamp,
        ),
    )


WITNESS: dict[str, Callable[[Connection, Entry, Body, str], None]] = {
    kinds.WITNESS_ATTESTED: _attested,
    kinds.DOSE_WASTED: _wasted,
}
