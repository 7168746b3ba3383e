"""The audit log as CSV: one row per audit event, with its before/after values as a readable
field-by-field difference beside the raw JSON (docs/architecture.md#the-audit-chain).

UTF-8 with a header row, RFC 4180 quoting, times both in UTC (RFC 3339) and in the facility's
zone. A cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is written with a leading apostrophe. The file is created
owner-only (:mod:`mar_desktop.private_files`). Worker thread (file I/O). Raises OSError.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

from mar_desktop.audit_changes import changes_text
from mar_desktop.clock import parse_utc
from mar_desktop.people.audit_record import AuditRecord
from mar_desktop.private_files import private_file

COLUMNS = (
    "recorded_at_utc",
    "recorded_at_local",
    "action",
    "user_id",
    "user_name",
    "role",
    "device_id",
    "seq",
    "ip",
    "entity_type",
    "entity_id",
    "detail",
    "changes",
    "before_json",
    "after_json",
    "entry_id",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """``text``, with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def audit_row(record: AuditRecord, zone: ZoneInfo) -> dict[str, str]:
    local = parse_utc(record.recorded_at).astimezone(zone)
    row = {
        "recorded_at_utc": record.recorded_at,
        "recorded_at_local": local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "action": record.action,
        "user_id": record.user_id,
        "user_name": record.user_name,
        "role": record.role,
        "device_id": record.device_id,
        "seq": str(record.seq),
        "ip": record.ip or "",
        "entity_type": record.entity_type,
        "entity_id": record.entity_id,
        "detail": record.detail,
        "changes": changes_text(record.before, record.after),
        "before_json": _json(record.before),
        "after_json": _json(record.after),
        "entry_id": record.entry_id,
    }
    return {key: safe_cell(value) for key, value in row.items()}


def write_audit_csv(records: Iterable[AuditRecord], path: Path, zone: str = "UTC") -> int:
    """Writes ``records`` to ``path`` (created or narrowed to 0600); returns the row count."""
    where = ZoneInfo(zone)
    count = 0
    with private_file(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for record in records:
            writer.writerow(audit_row(record, where))
            count += 1
    return count
