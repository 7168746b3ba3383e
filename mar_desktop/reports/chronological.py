"""The surveyor export's chronological PDF: every ledger entry of the window in recorded order,
with who (printed name and role), which resident, and what the entry says."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from mar_desktop.clock import parse_utc
from mar_desktop.reports.blocks import scaled
from mar_desktop.reports.data import Progress, ReportInfo, no_progress
from mar_desktop.reports.gather import ExportData
from mar_desktop.reports.pdfkit import (
    BOLD,
    FONT,
    GRID,
    LIGHT,
    MarDoc,
    header_lines,
    local_text,
    styles,
    text_cell,
)
from mar_desktop.reports.summary import entry_resident_id, resident_label, summarize

COLS = (0.09, 0.13, 0.15, 0.14, 0.39, 0.1)
HEAD = ["Recorded (local)", "Kind", "By (role)", "Resident", "What was recorded", "Device / seq"]
CHUNK = 300  # rows per table: keeps memory and layout time linear for long windows


def render_chronological(
    data: ExportData,
    out: Path | BinaryIO,
    *,
    pagesize: str = "letter",
    progress: Progress = no_progress,
) -> ReportInfo:
    """Renders every entry of ``data`` in order. Worker thread."""
    zone = data.facility.zone
    who = data.exported_by
    window = (
        f"{local_text(data.since, zone)} to {local_text(data.until, zone)} "
        f"({data.facility.timezone})"
    )
    right = (
        f"Exported by {who.full_name}{', ' + who.credentials if who.credentials else ''}\n"
        f"{local_text(data.exported_at, zone)}\nCONFIDENTIAL - protected health information"
    )
    lines = [data.facility.name, f"Window: {window} · {len(data.entries)} ledger entries"]

    def header(canv: Any, width: float, height: float) -> None:
        header_lines(canv, width, height, "Ledger record - chronological", lines, right)

    chunks = max(1, (len(data.entries) + CHUNK - 1) // CHUNK)
    doc = MarDoc(
        out,
        pagesize=pagesize,
        title="Ledger record (chronological)",
        header=header,
        footer_text="Every ledger entry of the window, in the order recorded. entries.csv holds "
        "the same entries with their signatures.",
        progress=progress,
        blocks=chunks,
    )
    st = styles()
    widths = scaled(COLS, doc.body_width)
    text_w = [w - 6 for w in widths]
    story: list[Flowable] = []
    if not data.entries:
        story.append(Paragraph("No ledger entries in this window.", st["bold"]))
    for start in range(0, len(data.entries), CHUNK):
        rows: list[list[Any]] = [list(HEAD)]
        for entry in data.entries[start : start + CHUNK]:
            actor = data.users.get(entry.actor.get("user_id", ""))
            name = actor.full_name if actor else entry.actor.get("user_id", "")
            rows.append(
                [
                    local_text(parse_utc(entry.recorded_at), zone, "%m-%d %H:%M:%S"),
                    text_cell(entry.kind, text_w[1], size=6.6),
                    text_cell(f"{name} ({entry.actor.get('role', '')})", text_w[2], size=6.6),
                    text_cell(
                        resident_label(data, entry_resident_id(entry, data)), text_w[3], size=6.6
                    ),
                    text_cell(summarize(entry, data), text_w[4], size=6.6),
                    text_cell(f"{entry.device_id[-8:]} / {entry.seq}", text_w[5], size=6.2),
                ]
            )
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, 6.6),
                    ("FONT", (0, 0), (-1, 0), BOLD, 6.8),
                    ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                    ("GRID", (0, 0), (-1, -1), 0.25, GRID),
                    ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ]
            )
        )
        story.append(table)
        progress(min(0.5, 0.5 * (start + CHUNK) / max(1, len(data.entries))), "Preparing pages")
    return doc.render(story)
