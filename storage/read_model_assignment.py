"""Read-model query of shift assignments (docs/architecture.md#shift-assignment). A mixin of
:class:`storage.read_model.SqlReadModel`; the same contract (its thread's own connection,
never writes)."""

from __future__ import annotations

import json
from datetime import datetime

from mar_desktop.clock import utc_iso
from mar_desktop.shift_assignment import ShiftAssignment
from storage.database import Connection

_OF_USER = (
    "SELECT entry_id, assignment_id, user_id, unit_id, rooms_json, resident_ids_json, "
    "shift_name, starts_at, ends_at, set_by_user_id, set_by_role, recorded_at, stamp, note "
    "FROM shift_assignments WHERE user_id = ? AND ends_at > ? AND starts_at <= ? "
    "ORDER BY stamp"
)


class AssignmentReads:
    """Shift assignment queries; :class:`~storage.read_model.SqlReadModel` supplies the rest."""

    _conn: Connection

    def shift_assignments(
        self, user_id: str, *, since: datetime, until: datetime
    ) -> list[ShiftAssignment]:
        """Every assignment of ``user_id`` whose shift overlaps ``[since, until]``, oldest
        recorded first (replaced ones included: :func:`~mar_desktop.shift_assignment.current`
        picks the one in force)."""
        rows = self._conn.execute(_OF_USER, (user_id, utc_iso(since), utc_iso(until)))
        return [
            ShiftAssignment(
                entry_id=r[0],
                assignment_id=r[1],
                user_id=r[2],
                unit_id=r[3],
                rooms=tuple(json.loads(r[4])),
                resident_ids=tuple(json.loads(r[5])),
                shift_name=r[6],
                starts_at=datetime.fromisoformat(r[7]),
                ends_at=datetime.fromisoformat(r[8]),
                set_by_user_id=r[9],
                set_by_role=r[10],
                recorded_at=datetime.fromisoformat(r[11]),
                stamp=r[12],
                note=r[13],
            )
            for r in rows.fetchall()
        ]
