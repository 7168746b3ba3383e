"""The surveyor export's ``entries.csv``: one row per ledger entry of the window.

The first block of columns is the entry itself, complete: with ``body_json`` and ``sig`` a row
rebuilds the exact signed bytes (:func:`entry_from_row`), so anyone can re-verify signatures.
The remaining columns are decoded for reading, and the ``voided_*``/``amended`` ones are derived
from later entries (state at export time). Times are UTC RFC 3339 (``...Z``). UTF-8 with a
header row, RFC 4180 quoting.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mar_desktop.canonical import canonical_bytes, loads
from mar_desktop.clinical.routes import route_words
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import ValidationError
from mar_desktop.private_files import private_file
from mar_desktop.reports.gather import ExportData
from mar_desktop.reports.summary import (
    entry_order_id,
    entry_resident_id,
    order_label,
    resident_label,
)

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("entry_id", "Entry id (UUIDv7), unique across the facility"),
    ("facility_id", "Facility the entry belongs to"),
    ("device_id", "Device (tablet) that wrote and signed the entry"),
    ("seq", "Position in that device's ledger chain (1, 2, ... gapless)"),
    ("prev", "SHA-256 (hex) of the device's previous entry: the chain link"),
    ("recorded_at", "When the device wrote the entry (UTC)"),
    ("kind", "Entry kind, e.g. administration.recorded, entry.voided, note.amended"),
    ("actor_user_id", "Who did it (user id)"),
    ("actor_role", "Their role at that moment"),
    ("sig", "Ed25519 signature (hex) of the device over the entry's canonical bytes"),
    ("body_json", "The entry's body as canonical JSON (everything the entry says)"),
    ("actor_name", "Printed name of the actor"),
    ("actor_credentials", "Actor's credentials (RN, LPN, CMA, ...)"),
    ("resident_id", "Resident the entry concerns (directly or via its target/order)"),
    ("resident", "Room, family and given name of that resident"),
    ("order_id", "Medication order concerned"),
    ("medication", "Drug, strength and form of that order"),
    ("scheduled_for", "Scheduled dose time (UTC); empty for PRN"),
    ("administered_at", "When the dose was given/attempted (UTC)"),
    ("outcome", "given, refused, held, not_available, away, other"),
    ("reason_code", "Facility reason code for a dose not given"),
    ("reason_text", "Free-text reason"),
    ("dose", "Dose given (decimal)"),
    ("dose_unit", "Unit of the dose"),
    ("route", "Route in words (oral, subcutaneous...); body_json holds it as recorded"),
    ("prn_reason", "Why a PRN was given"),
    ("pain_score", "Pain score 0-10 where recorded"),
    ("note", "Note as originally written"),
    ("witness_user_id", "Witness (Schedule II) user id"),
    ("witness_name", "Witness printed name"),
    ("target_entry_id", "For voids, amendments, follow-ups: the entry acted on"),
    ("reason", "Reason given for a void or order change"),
    ("voided", "yes if this administration was later voided (derived)"),
    ("voided_by", "User id who voided it (derived)"),
    ("void_reason", "Why it was voided (derived)"),
    ("amended_note", "The note as last amended (derived)"),
    (
        "overrides",
        "Warnings accepted to give this dose, in words: allergy, scan not done (and why), "
        "outside the window, PRN indication; each with its reason and who (derived)",
    ),
)
COLUMN_NAMES = tuple(name for name, _ in CSV_COLUMNS)
EARLIER_COLUMN_NAMES = COLUMN_NAMES[:-1]
"""The columns of an export written before ``overrides`` was added: still readable."""


def csv_columns_markdown() -> str:
    """The column table for the README."""
    lines = ["| column | meaning |", "|---|---|"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in CSV_COLUMNS]
    return "\n".join(lines)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def entry_row(entry: Entry, data: ExportData) -> dict[str, str]:
    body: dict[str, Any] = entry.body
    actor_id = entry.actor.get("user_id", "")
    actor = data.users.get(actor_id)
    resident_id = entry_resident_id(entry, data)
    order_id = entry_order_id(entry, data)
    raw_witness = body.get("witness")
    witness: dict[str, Any] = raw_witness if isinstance(raw_witness, dict) else {}
    record = data.records.get(entry.id)
    return {
        "entry_id": entry.id,
        "facility_id": entry.facility_id,
        "device_id": entry.device_id,
        "seq": str(entry.seq),
        "prev": entry.prev,
        "recorded_at": entry.recorded_at,
        "kind": entry.kind,
        "actor_user_id": actor_id,
        "actor_role": entry.actor.get("role", ""),
        "sig": entry.sig,
        "body_json": canonical_bytes(body).decode("utf-8"),
        "actor_name": actor.full_name if actor else ("system" if actor_id == "system" else ""),
        "actor_credentials": actor.credentials if actor else "",
        "resident_id": _s(resident_id),
        "resident": resident_label(data, resident_id),
        "order_id": _s(order_id),
        "medication": order_label(data, order_id),
        "scheduled_for": _s(body.get("scheduled_for")),
        "administered_at": _s(body.get("administered_at")),
        "outcome": _s(body.get("outcome")),
        "reason_code": _s(body.get("reason_code")),
        "reason_text": _s(body.get("reason_text")),
        "dose": _s(body.get("dose_given")),
        "dose_unit": _s(body.get("dose_unit")),
        "route": route_words(_s(body.get("route"))),
        "prn_reason": _s(body.get("prn_reason")),
        "pain_score": _s(body.get("pain_score")),
        "note": _s(body.get("note")) if entry.kind == "administration.recorded" else "",
        "witness_user_id": _s(witness.get("user_id")),
        "witness_name": _s(witness.get("full_name")),
        "target_entry_id": _s(body.get("target_entry_id")),
        "reason": _s(body.get("reason")),
        "voided": "yes" if record is not None and record.voided else "",
        "voided_by": _s(record.voided_by) if record is not None and record.voided else "",
        "void_reason": record.void_reason if record is not None and record.voided else "",
        "amended_note": record.current_note if record is not None and record.amendments else "",
        "overrides": "; ".join(
            f"{o.label}: {o.reason}" + (f" ({o.full_name})" if o.full_name else "")
            for o in data.overrides.get(entry.id, ())
        ),
    }


def entry_rows(data: ExportData) -> Iterator[dict[str, str]]:
    for entry in data.entries:
        yield entry_row(entry, data)


def write_entries_csv(data: ExportData, path: Path) -> int:
    """Writes ``entries.csv``; returns the number of rows (entries)."""
    count = 0
    with private_file(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMN_NAMES, lineterminator="\r\n")
        writer.writeheader()
        for row in entry_rows(data):
            writer.writerow(row)
            count += 1
    return count


def read_entries_csv(source: Path | str) -> list[dict[str, str]]:
    """Parses an ``entries.csv`` (a path, or the text itself)."""
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) not in (COLUMN_NAMES, EARLIER_COLUMN_NAMES):
        raise ValidationError("entries.csv does not have the expected columns.")
    return list(reader)


def entry_from_row(row: dict[str, str]) -> Entry:
    """Rebuilds the signed entry from a CSV row (byte-identical to the stored one).
    Raises ValidationError if the row does not make a canonical entry."""
    try:
        payload = {
            "actor": {"role": row["actor_role"], "user_id": row["actor_user_id"]},
            "body": loads(row["body_json"]),
            "device_id": row["device_id"],
            "facility_id": row["facility_id"],
            "id": row["entry_id"],
            "kind": row["kind"],
            "prev": row["prev"],
            "recorded_at": row["recorded_at"],
            "seq": int(row["seq"]),
            "sig": row["sig"],
        }
        return parse_raw(canonical_bytes(payload))
    except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            f"entries.csv row for entry {row.get('entry_id', '?')} is damaged."
        ) from exc


__all__ = [
    "CSV_COLUMNS",
    "csv_columns_markdown",
    "entry_from_row",
    "read_entries_csv",
    "utc_iso",
    "write_entries_csv",
]
