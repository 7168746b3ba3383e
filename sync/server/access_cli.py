"""``mar-server access-report``: who saw one resident's record in a time window, from what the
server holds (docs/architecture.md#who-saw-this-resident).

    mar-server access-report --facility F --resident R --from TIME --to TIME
                             [--format csv|pdf] --out FOLDER

Reads the facility's entries (every tablet's ledger and audit chains, the server's own) and the
server's audit (device sign-ins with the client address), builds the report with the core's
:func:`mar_desktop.access_report.build_access_report`, and writes it into FOLDER (new or
empty, owner-only) as ``access-report.csv`` or ``access-report.pdf`` with a ``manifest.json``
signed by the server key: ``mar-desktop check-export FOLDER --trusted-key <server public key>``
verifies it. The run itself is a row of the server audit (``access_report``, with the resident
id, the window and the row count), so a later report on the same resident lists it.

Times are RFC 3339 UTC, or a date (its midnight UTC); ``--to`` is exclusive. Works on SQLite
and PostgreSQL. Prints the row count and the folder; nothing of the resident's record.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mar_desktop import kinds
from mar_desktop.access_report import (
    ServerEvent,
    build_access_report,
    check_window,
    names_from_entries,
)
from mar_desktop.canonical import canonical_bytes
from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import IntegrityError, NotFound, ValidationError
from mar_desktop.reports.access_export import write_access_export
from sync.server import audit as server_audit
from sync.server import config
from sync.server.serving import open_core
from sync.server.store import Store, StoredEntry

MAX_AUDIT_ROWS = 10_000_000


def _time(text: str, what: str) -> datetime:
    value = text if "T" in text else f"{text}T00:00:00Z"
    try:
        return parse_utc(value)
    except ValueError:
        raise ValidationError(f"{what}: not an RFC 3339 time or a date: {text!r}") from None


def _parsed(rows: list[StoredEntry]) -> list[Entry]:
    out = []
    for row in rows:
        try:
            out.append(parse_raw(row.raw))
        except ValueError:
            raise IntegrityError("A stored entry is damaged; run 'mar-server verify'.") from None
    return out


def _facility(store: Store, facility_id: str) -> tuple[str, ZoneInfo]:
    """The facility's name and time zone, from the server device's ``facility.configured``."""
    server = store.server_device(facility_id)
    name, zone = store.facility_name(facility_id) or facility_id, ZoneInfo("UTC")
    if server is None:
        return name, zone
    found = store.entries_of_kind(facility_id, server.device_id, kinds.FACILITY_CONFIGURED)
    for entry in _parsed(found[-1:]):
        facility = entry.body.get("facility", {})
        try:
            zone = ZoneInfo(str(facility.get("timezone", "UTC")))
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
    return name, zone


def _resident_name(mentions: list[Entry], resident_id: str) -> str | None:
    """The resident's name as their latest admission or update says (None: never admitted)."""
    name = None
    for entry in mentions:
        if entry.kind in (kinds.RESIDENT_ADMITTED, kinds.RESIDENT_UPDATED):
            resident = entry.body.get("resident", {})
            if resident.get("resident_id") == resident_id:
                family, given = resident.get("family_name", ""), resident.get("given_name", "")
                name = f"{str(family).upper()}, {given}"
    return name


def cmd_access_report(args: argparse.Namespace) -> int:
    core = args.opened = open_core(config.data_dir(args.data), args.db)  # closed by the CLI
    store = core.store
    facility_id = args.facility
    if facility_id not in store.facility_ids():
        raise NotFound("unknown facility")
    since, until = _time(args.since, "--from"), _time(args.until, "--to")
    check_window(since, until)
    resident_id = args.resident.strip()
    mentions = _parsed(store.entries_mentioning(facility_id, "ledger",
                                                canonical_bytes(resident_id)))
    resident_name = _resident_name(mentions, resident_id)
    if resident_name is None:
        raise NotFound("no resident with this id was ever admitted in this facility")
    window = _parsed(store.entries_between(facility_id, utc_iso(since), utc_iso(until)))
    devices = store.devices(facility_id)
    people = _parsed([
        row for d in devices for kind in (kinds.USER_CREATED, kinds.USER_CHANGED)
        for row in store.entries_of_kind(facility_id, d.device_id, kind)
    ])
    events = [
        ServerEvent(r.audit_id, r.at, r.device_id, r.action, r.address, r.detail)
        for r in store.audit_rows(facility_id, utc_iso(since), utc_iso(until), MAX_AUDIT_ROWS)
    ]
    report = build_access_report(
        resident_id, since, until, mentions=mentions, window=window, server_events=events,
        names=names_from_entries(people), devices={d.device_id: d.label for d in devices},
    )
    server = store.server_device(facility_id)
    facility_name, zone = _facility(store, facility_id)
    address = server_audit.cli_address()
    write_access_export(
        report, Path(args.out), kind=args.format, signer=core.signer,
        device_id=server.device_id if server is not None else core.server_id,
        facility_id=facility_id, facility_name=facility_name, resident_name=resident_name,
        zone=zone, exported_by={"user_id": "", "name": address, "role": "server operator"},
        exported_at=datetime.now(UTC),
    )
    server_audit.record(store, server_audit.row(
        core.clock, server_audit.ACCESS_REPORT, address=address, facility_id=facility_id,
        detail=f"resident {resident_id} {utc_iso(since)} to {utc_iso(until)} "
        f"rows={len(report.rows)} format={args.format}",
    ))
    print(f"{len(report.rows)} accesses written to {args.out} ({args.format}, signed by the "
          f"server key {core.public_key}).")
    return 0


def add_parser(sub: Any) -> None:
    """Adds ``access-report`` to mar-server's subparsers."""
    p = sub.add_parser(
        "access-report",
        help="who saw one resident's record in a time window (CSV or PDF, signed manifest)",
    )
    p.add_argument("--facility", required=True)
    p.add_argument("--resident", required=True, help="the resident's id")
    p.add_argument("--from", dest="since", required=True, help="RFC 3339 UTC time, or a date")
    p.add_argument("--to", dest="until", required=True, help="end time, exclusive")
    p.add_argument("--format", choices=("csv", "pdf"), default="csv")
    p.add_argument("--out", required=True, help="folder to write (new or empty; 0700)")
    p.set_defaults(func=cmd_access_report)
