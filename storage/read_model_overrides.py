"""Read-model query of the warnings accepted for doses (mar_desktop/clinical/overrides.py).

No projection table: an ``administration.overrides`` entry is written immediately before its
dose in the same device's chain (same transaction), so it is the ledger row at the dose's
``(device_id, seq - 1)``, found through the ledger's unique index and checked to name the dose.
A dose without one (recorded before overrides were their own entry, or by an older tablet)
shows the overrides its own body implies (:func:`mar_desktop.clinical.overrides.
legacy_overrides`). A mixin of :class:`storage.read_model.SqlReadModel`; the same contract
(its thread's own connection, never writes, results hold PHI).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from mar_desktop import kinds
from mar_desktop.clinical.overrides import legacy_overrides
from mar_desktop.views import OverrideView
from storage.database import Connection

_OVERRIDES = (
    "SELECT d.id, json_extract(CAST(d.raw AS TEXT), '$.body'), "
    "json_extract(CAST(d.raw AS TEXT), '$.actor'), "
    "json_extract(CAST(p.raw AS TEXT), '$.body') "
    "FROM ledger d "
    "LEFT JOIN ledger p ON p.device_id = d.device_id AND p.seq = d.seq - 1 "
    f"AND p.kind = '{kinds.ADMINISTRATION_OVERRIDES}' "
    "WHERE d.id IN (SELECT value FROM json_each(?)) "
    f"AND d.kind = '{kinds.ADMINISTRATION_RECORDED}'"
)


class OverrideReads:
    """The overrides query; :class:`~storage.read_model.SqlReadModel` supplies the connection."""

    _conn: Connection

    def dose_overrides(self, entry_ids: Collection[str]) -> dict[str, tuple[OverrideView, ...]]:
        """The accepted warnings of each dose in ``entry_ids`` (administration entry ids) that
        has any; doses with none are left out."""
        if not entry_ids:
            return {}
        found: dict[str, tuple[OverrideView, ...]] = {}
        for dose_id, dose_json, actor_json, overrides_json in self._conn.execute(
            _OVERRIDES, (json.dumps(list(entry_ids)),)
        ):
            views = _from_entry(dose_id, overrides_json)
            if views is None:
                views = _legacy(json.loads(dose_json), json.loads(actor_json or "{}"))
            if views:
                found[dose_id] = views
        return found


def _from_entry(dose_id: str, body_json: str | None) -> tuple[OverrideView, ...] | None:
    """The overrides an entry's body lists, if it is the dose's; None if it is not (absent, or
    naming another dose). Read leniently: a newer version's body still shows its items, each
    unknown code in words that say so."""
    if body_json is None:
        return None
    body: dict[str, Any] = json.loads(body_json)
    if body.get("administration_entry_id") != dose_id:
        return None
    items = body.get("overrides")
    if not isinstance(items, list):
        return None
    return tuple(
        OverrideView(
            code=str(item.get("code", "")),
            reason=str(item.get("reason", "")),
            user_id=str(item.get("user_id", "")),
            full_name=str(item.get("full_name", "")),
            role=str(item.get("role", "")),
        )
        for item in items
        if isinstance(item, dict)
    )


def _legacy(body: dict[str, Any], actor: dict[str, Any]) -> tuple[OverrideView, ...]:
    """What an older dose's own fields say was accepted, by the person who recorded it."""
    return tuple(
        OverrideView(
            code=a.code,
            reason=a.reason,
            user_id=str(actor.get("user_id", "")),
            full_name="",
            role=str(actor.get("role", "")),
            legacy=True,
        )
        for a in legacy_overrides(body)
    )
