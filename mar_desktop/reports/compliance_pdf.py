"""The PDF of the scan compliance and overrides report (:mod:`mar_desktop.reports.compliance`):
a header on every page, the table of units and nurses (each unit's total shaded), the urgent
doses on unverified orders, and what each column counts. Pure; worker thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from mar_desktop.clinical.overrides import OVERRIDE_LABELS
from mar_desktop.reports.blocks import scaled
from mar_desktop.reports.compliance import COUNTED_CODES, SHORT_LABELS, ComplianceData
from mar_desktop.reports.data import Progress, ReportInfo, no_progress
from mar_desktop.reports.pdfkit import (
    BOLD,
    FONT,
    GRID,
    LIGHT,
    SHADE,
    MarDoc,
    header_lines,
    local_text,
    printed_by_text,
    styles,
    text_cell,
)

HEAD = (
    "Unit", "Nurse", "Doses recorded", "Given", "Wristband scanned", "Medication scanned",
    *(SHORT_LABELS[c] for c in COUNTED_CODES), "Urgent, unverified order",
)
COLS = (0.1, 0.16, 0.07, 0.06, 0.08, 0.08, 0.07, 0.08, 0.08, 0.07, 0.07, 0.08)
URGENT_HEAD = ("Given (local)", "Unit", "Resident", "Medication", "Given by", "Second person",
               "Why it could not wait")
URGENT_COLS = (0.1, 0.09, 0.15, 0.17, 0.13, 0.13, 0.23)


def render_compliance(
    data: ComplianceData,
    out: Path | BinaryIO,
    *,
    pagesize: str = "letter",
    progress: Progress = no_progress,
) -> ReportInfo:
    """Renders the report of ``data`` to ``out``. Worker thread. Raises ValidationError for an
    unknown page size."""
    zone = data.facility.zone
    lines = [
        f"{data.facility.name} · {data.scope}",
        f"{local_text(data.since, zone)} to {local_text(data.until, zone)} "
        f"({data.facility.timezone})",
    ]
    printed = printed_by_text(data.printed_by, data.printed_at, data.facility)

    def header(canv: Any, width: float, height: float) -> None:
        header_lines(canv, width, height, "Scan compliance and overrides", lines, printed)

    doc = MarDoc(
        out,
        pagesize=pagesize,
        title="Scan compliance and overrides",
        header=header,
        footer_text="Voided records are not counted. Scanned shares are of the doses given; "
        "a dose confirmed by hand names its reason in the resident's record.",
        progress=progress,
        blocks=1,
    )
    st = styles()
    story: list[Flowable] = []
    widths = scaled(COLS, doc.body_width)
    rows: list[list[Any]] = [[text_cell(h, w - 6, size=6.8, bold=True)
                              for h, w in zip(HEAD, widths, strict=True)]]
    shaded = []
    for row in data.rows:
        if not row.user_id:
            shaded.append(len(rows))
        values = [
            row.unit_name, row.name, str(row.recorded), str(row.given), row.wristband_percent,
            row.medication_percent, *(str(row.overrides.get(c, 0)) for c in COUNTED_CODES),
            str(row.urgent),
        ]
        rows.append([text_cell(v, w - 6, size=7, bold=not row.user_id)
                     for v, w in zip(values, widths, strict=True)])
    if data.rows:
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
            ("GRID", (0, 0), (-1, -1), 0.25, GRID),
            ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            *[("BACKGROUND", (0, r), (-1, r), SHADE) for r in shaded],
        ]))
        story.append(table)
    else:
        story.append(Paragraph("No doses were recorded in this window.", st["bold"]))
    story += [Spacer(1, 10), Paragraph("Urgent doses given on orders awaiting verification",
                                       st["h2"])]
    if data.urgent:
        widths = scaled(URGENT_COLS, doc.body_width)
        urgent: list[list[Any]] = [[text_cell(h, w - 6, size=6.8, bold=True)
                                    for h, w in zip(URGENT_HEAD, widths, strict=True)]]
        for line in data.urgent:
            values = [local_text(line.given_at, zone, "%m-%d %H:%M"), line.unit_name,
                      line.resident, line.medication, line.given_by, line.second_person,
                      line.reason]
            urgent.append([text_cell(v, w - 6, size=7)
                           for v, w in zip(values, widths, strict=True)])
        table = Table(urgent, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), FONT, 7),
            ("FONT", (0, 0), (-1, 0), BOLD, 7),
            ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
            ("GRID", (0, 0), (-1, -1), 0.25, GRID),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(table)
    else:
        story.append(Paragraph("None in this window.", st["cell"]))
    legend = "; ".join(f"{SHORT_LABELS[c]}: {OVERRIDE_LABELS[c]}" for c in COUNTED_CODES)
    story += [Spacer(1, 8), Paragraph(f"Columns: {legend}.", st["cell"])]
    return doc.render(story)


__all__ = ["render_compliance"]
