"""One audit event as the audit viewer and the audit export read it
(docs/architecture.md#the-audit-chain). Pure; any thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mar_desktop.envelope import AUDIT_PREFIX, Entry


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit event as the viewer shows it (docs/architecture.md#the-audit-chain)."""

    entry_id: str
    device_id: str
    seq: int
    recorded_at: str
    action: str
    user_id: str
    user_name: str
    role: str
    ip: str | None
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str

    @classmethod
    def from_entry(cls, entry: Entry) -> AuditRecord:
        body = entry.body
        return cls(
            entry_id=entry.id,
            device_id=entry.device_id,
            seq=entry.seq,
            recorded_at=entry.recorded_at,
            action=entry.kind.removeprefix(AUDIT_PREFIX),
            user_id=str(body.get("user_id", "")),
            user_name=str(body.get("user_name", "")),
            role=str(body.get("role", "")),
            ip=body.get("ip"),
            entity_type=str(body.get("entity_type", "")),
            entity_id=str(body.get("entity_id", "")),
            before=body.get("before"),
            after=body.get("after"),
            detail=str(body.get("detail", "")),
        )
