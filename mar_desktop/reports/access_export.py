"""The access report's files: CSV or PDF, with a manifest signed like the surveyor export's
(:mod:`mar_desktop.reports.export`), so ``mar-desktop check-export`` verifies it the same way.

Layout of the folder::

    access-report.csv  or  access-report.pdf   the rows (mar_desktop.access_report)
    manifest.json   canonical JSON: format ``mar-desktop-access-report/1``, facility, resident
                    id, window, exported by/at, the signing device's id and public key, the row
                    count, the file's SHA-256 and size; ``signature`` is the device's (or the
                    server's) Ed25519 signature over the canonical bytes of every other field.

The files are written owner-only. Worker thread (tablet) or the server's command line.
Raises ValidationError (folder in use, unknown format) and OSError.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from mar_desktop.access_report import AccessReport
from mar_desktop.canonical import canonical_bytes
from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.errors import ValidationError
from mar_desktop.people.audit_export import safe_cell
from mar_desktop.private_files import private_dir, private_file, write_private
from mar_desktop.reports.blocks import scaled
from mar_desktop.reports.data import no_progress
from mar_desktop.reports.export import ACCESS_FILES, ACCESS_FORMAT, MANIFEST_NAME, file_facts
from mar_desktop.reports.pdfkit import BOLD, FONT, GRID, LIGHT, MarDoc, header_lines, text_cell
from mar_desktop.signing import DeviceSigner

FORMAT = ACCESS_FORMAT
CSV_NAME, PDF_NAME = ACCESS_FILES
Kind = Literal["csv", "pdf"]
COLUMNS = ("time_utc", "time_local", "person", "user_id", "role", "device", "device_id", "ip",
           "action", "what", "source", "ref")
CHUNK = 300


def write_access_export(
    report: AccessReport,
    out_dir: Path,
    *,
    kind: Kind,
    signer: DeviceSigner,
    device_id: str,
    facility_id: str,
    facility_name: str,
    resident_name: str,
    zone: ZoneInfo,
    exported_by: dict[str, str],
    exported_at: datetime,
) -> dict[str, Any]:
    """Writes the report as ``kind`` into ``out_dir`` (created; must be absent or empty) with
    its signed manifest, and returns the manifest. ``exported_by``: ``user_id``, ``name``,
    ``role`` of whoever asked (on the server: the operator account)."""
    if kind not in ("csv", "pdf"):
        raise ValidationError("Choose CSV or PDF.")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValidationError("The export folder must be new or empty.")
    private_dir(out_dir)
    name = CSV_NAME if kind == "csv" else PDF_NAME
    if kind == "csv":
        write_csv(report, out_dir / name, zone)
    else:
        write_pdf(report, out_dir / name, zone=zone, facility_name=facility_name,
                  resident_name=resident_name, exported_by=exported_by.get("name", ""),
                  exported_at=exported_at)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "facility": {"facility_id": facility_id, "name": facility_name},
        "resident_id": report.resident_id,
        "window": {"from": utc_iso(report.since), "to": utc_iso(report.until)},
        "exported_at": utc_iso(exported_at),
        "exported_by": dict(exported_by),
        "device_id": device_id,
        "public_key": signer.public_hex,
        "rows": len(report.rows),
        "files": {name: file_facts(out_dir / name)},
    }
    manifest["signature"] = signer.sign(canonical_bytes(manifest)).hex()
    write_private(out_dir / MANIFEST_NAME, canonical_bytes(manifest) + b"\n")
    return manifest


def write_csv(report: AccessReport, path: Path, zone: ZoneInfo) -> None:
    """One row per access, times in UTC and in ``zone``; formula-like cells quoted."""
    with private_file(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in report.rows:
            local = parse_utc(row.at).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
            writer.writerow([safe_cell(v) for v in (
                row.at, local, row.person, row.user_id, row.role, row.device, row.device_id,
                row.ip, row.action, row.what, row.source, row.ref)])


_COLS = (0.12, 0.16, 0.14, 0.1, 0.08, 0.4)
_HEAD = ["Time (local)", "Person (role)", "Device", "IP", "Action", "What"]


def write_pdf(
    report: AccessReport,
    path: Path,
    *,
    zone: ZoneInfo,
    facility_name: str,
    resident_name: str,
    exported_by: str,
    exported_at: datetime,
) -> None:
    """The rows as a readable table, oldest first."""
    window = (f"{report.since.astimezone(zone):%Y-%m-%d %H:%M} to "
              f"{report.until.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})")
    lines = [f"{facility_name} · {resident_name}",
             f"Window: {window} · {len(report.rows)} accesses"]
    right = (f"Exported by {exported_by}\n{exported_at.astimezone(zone):%Y-%m-%d %H:%M}\n"
             "CONFIDENTIAL - protected health information")

    def header(canv: Any, width: float, height: float) -> None:
        header_lines(canv, width, height, "Who saw this resident - access report", lines, right)

    doc = MarDoc(path, pagesize="letter", title="Access report", header=header,
                 footer_text="Views, prints, exports, doses and changes of this resident's "
                 "record, with the sign-ins of the people and devices involved.",
                 progress=no_progress, blocks=1)
    widths = scaled(_COLS, doc.body_width)
    text_w = [w - 6 for w in widths]
    story: list[Flowable] = []
    if not report.rows:
        story.append(Paragraph("No access to this resident's record in this window."))
    for start in range(0, len(report.rows), CHUNK):
        rows: list[list[Any]] = [list(_HEAD)]
        for row in report.rows[start:start + CHUNK]:
            when = parse_utc(row.at).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
            cells = (when, f"{row.person} ({row.role})" if row.role else row.person,
                     row.device, row.ip, row.action, row.what)
            rows.append([text_cell(text, text_w[i], size=6.8) for i, text in enumerate(cells)])
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), FONT, 6.8),
            ("FONT", (0, 0), (-1, 0), BOLD, 7),
            ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
            ("GRID", (0, 0), (-1, -1), 0.25, GRID),
            ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(table)
    doc.render(story)
