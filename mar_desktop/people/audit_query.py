"""Reading the audit log with filters (user, resident or other entity, action, time range,
actions left out), for the admin's audit viewer, and exporting what a filter finds as CSV.

Requires ``view_audit`` (a refusal is audited and nothing is returned); every search is itself
audited as ``audit_viewed`` with the filters used. An export also needs ``export_facility``;
it is audited as ``exported`` once the file is written. Worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from mar_desktop import audit
from mar_desktop.envelope import AUDIT_PREFIX
from mar_desktop.errors import ValidationError
from mar_desktop.people import audit_export
from mar_desktop.people.audit_record import AuditRecord
from mar_desktop.people.ports import AuditLog
from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.base import Ports, Service

MAX_ROWS = 10_000
__all__ = ["MAX_ROWS", "AuditFilter", "AuditQueryService", "AuditRecord"]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    user_id: str | None = None
    entity_id: str | None = None  # a resident id, user id, order id…
    entity_type: str | None = None
    actions: frozenset[str] | None = None
    exclude_actions: frozenset[str] = frozenset()  # e.g. {"synced"}: hidden unless asked for
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000

    def describe(self) -> str:
        parts = [
            f"{name}={value}"
            for name, value in (
                ("user", self.user_id),
                ("entity", self.entity_id),
                ("type", self.entity_type),
                ("actions", ",".join(sorted(self.actions)) if self.actions else None),
                ("without", ",".join(sorted(self.exclude_actions)) or None),
                ("since", self.since.isoformat() if self.since else None),
                ("until", self.until.isoformat() if self.until else None),
            )
            if value
        ]
        return "filters: " + (" ".join(parts) if parts else "none")


class AuditQueryService(Service):
    """See the module docstring."""

    def __init__(self, ports: Ports, log: AuditLog) -> None:
        super().__init__(ports)
        self._log = log

    def search(self, principal: Principal, query: AuditFilter) -> list[AuditRecord]:
        """Matching events, newest first, at most ``query.limit`` (≤ 10,000)."""
        self._require(principal, Permission.VIEW_AUDIT, entity_type="audit")
        found = self._find(query)
        self._append(
            [
                audit.audit_for(
                    principal,
                    audit.AUDIT_VIEWED,
                    entity_type="audit",
                    after=self._about(query),
                    detail=f"{query.describe()} rows={len(found)}",
                )
            ]
        )
        return found

    def export_csv(
        self, principal: Principal, query: AuditFilter, path: Path, zone: str = "UTC"
    ) -> int:
        """Writes every event ``query`` matches (at most 10,000, ignoring ``query.limit``),
        newest first, to ``path`` as CSV readable only by its owner
        (:mod:`mar_desktop.private_files`), and audits the export (``exported``, with the
        filters, the row count and the file's name). Returns the row count. Needs
        ``view_audit`` and ``export_facility`` (refusals audited, nothing written). Raises
        ValidationError, OSError; a file left half written is removed."""
        self._require(principal, Permission.VIEW_AUDIT, entity_type="audit")
        self._require(principal, Permission.EXPORT_FACILITY, entity_type="audit")
        found = self._find(replace(query, limit=MAX_ROWS))
        try:
            audit_export.write_audit_csv(found, path, zone)
            self._append(
                [
                    audit.audit_for(
                        principal,
                        audit.EXPORTED,
                        entity_type="audit",
                        after=self._about(query),
                        detail=f"audit log CSV {path.name}: {query.describe()} rows={len(found)}",
                    )
                ]
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return len(found)

    def _about(self, query: AuditFilter) -> dict[str, object] | None:
        """``{"resident_ids": [id]}`` when the search is filtered to a resident: what the audit
        says of them was shown, so the access report lists it (None otherwise)."""
        if query.entity_id and self._read.resident(query.entity_id) is not None:
            return {"report": "audit_log", "resident_ids": [query.entity_id]}
        return None

    def _find(self, query: AuditFilter) -> list[AuditRecord]:
        if not 1 <= query.limit <= MAX_ROWS:
            raise ValidationError(f"Ask for between 1 and {MAX_ROWS} rows.")
        if query.since and query.until and query.since >= query.until:
            raise ValidationError("The start of the time range must be before its end.")
        kinds = {AUDIT_PREFIX + a for a in query.actions} if query.actions else None
        entries = self._log.audit_entries(
            since=query.since,
            until=query.until,
            kinds=kinds,
            limit=query.limit,
            user_id=query.user_id,
            entity_id=query.entity_id,
            entity_type=query.entity_type,
            exclude_kinds={AUDIT_PREFIX + a for a in query.exclude_actions},
        )
        return [AuditRecord.from_entry(entry) for entry in entries]
