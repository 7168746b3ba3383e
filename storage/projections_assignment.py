"""Projection of shift assignments (docs/architecture.md#shift-assignment): one row per
``shift.assigned`` entry, kept whatever arrives later; which one is in force is decided when
read (:func:`mar_desktop.shift_assignment.current`). Called by :mod:`storage.projections`
inside the writer's transaction; writes only ``shift_assignments``."""

from __future__ import annotations

import json
from collections.abc import Callable

from mar_desktop import kinds
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry
from mar_desktop.kinds import Body
from storage.database import Connection

_INSERT = (
    "INSERT OR IGNORE INTO shift_assignments (entry_id, assignment_id, user_id, unit_id, "
    "rooms_json, resident_ids_json, shift_name, starts_at, ends_at, set_by_user_id, "
    "set_by_role, note, recorded_at, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _assigned(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.ShiftAssigned)
    conn.execute(
        _INSERT,
        (
            entry.id,
            body.assignment_id,
            body.user_id,
            body.unit_id,
            json.dumps(list(body.rooms)),
            json.dumps(list(body.resident_ids)),
            body.shift_name,
            utc_iso(body.starts_at),
            utc_iso(body.ends_at),
            entry.actor["user_id"],
            entry.actor["role"],
            body.note,
            entry.recorded_at,
            stamp,
        ),
    )


ASSIGNMENT: dict[str, Callable[[Connection, Entry, Body, str], None]] = {
    kinds.SHIFT_ASSIGNED: _assigned,
}
