"""The monthly MAR: the classic 31-day grid, one resident per page (Letter or A4 landscape).

Rows are order × administration time (local ``HH:MM``; PRN orders get one ``PRN`` row), columns
are the days 1–31 (days the month does not have are shaded). A cell holds the initials of who
gave the dose, or the code of what happened instead (refused, held, missed, ...) over the
initials of who documented it. Below each grid: the signatures that appear on it; at the end of
the document: the full code legend and signature legend. A resident whose grid is taller than a
page continues on the next page under a "(continued)" banner with the day header repeated.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from mar_desktop.model import Outcome
from mar_desktop.reports import codes
from mar_desktop.reports.blocks import banner_table, legend_flowables
from mar_desktop.reports.data import MonthlyMarData, Progress, ReportInfo, ResidentMar, no_progress
from mar_desktop.reports.pdfkit import (
    BOLD,
    FONT,
    GREY,
    GRID,
    LIGHT,
    PLAIN,
    MarDoc,
    Marker,
    Run,
    TextCell,
    header_lines,
    plain_ok,
    printed_by_text,
    styles,
)
from mar_desktop.reports.text import (
    directions_text,
    drug_text,
    order_status_text,
    resident_banner,
)
from mar_desktop.views import AdministrationRecord

DAYS = 31
MED_FRACTION = 0.2
TIME_FRACTION = 0.045
_NOT_A_DAY = colors.HexColor("#C8C8C8")


def _cell_text(
    record: AdministrationRecord | None, status_code: str, initials: Mapping[str, str]
) -> str:
    if record is None:
        return status_code
    who = initials.get(record.actor_user_id, "?")
    if record.voided:
        return f"{codes.VOID_CODE}\n{who}"
    if record.outcome == Outcome.GIVEN:
        return who
    return f"{codes.record_code(record)}\n{who}"


def _grid(
    mar: ResidentMar, data: MonthlyMarData, width: float, initials: Mapping[str, str], st: Any
) -> Table:
    zone = data.facility.zone
    days_in_month = calendar.monthrange(data.year, data.month)[1]
    day_width = (width * (1 - MED_FRACTION - TIME_FRACTION)) / DAYS
    med_width = width * MED_FRACTION
    head = ["Medication / directions", "Time", *[str(d) for d in range(1, DAYS + 1)]]
    rows: list[list[Any]] = [head]
    style: list[Any] = []
    cells: dict[tuple[str, str], dict[int, str]] = {}
    for dose in mar.doses:
        local = dose.scheduled_for.astimezone(zone)
        key = (dose.order_id, local.strftime("%H:%M"))
        text = _cell_text(dose.record, codes.status_code(dose.status), initials)
        cells.setdefault(key, {})[local.day] = text
    prn_cells: dict[str, dict[int, list[str]]] = {}
    for record in mar.records:
        if record.scheduled_for is None and record.counts_as_given:
            day = record.administered_at.astimezone(zone).day
            who = initials.get(record.actor_user_id, "?")
            prn_cells.setdefault(record.order_id, {}).setdefault(day, []).append(who)
    for state in mar.orders:
        order = state.order
        if order.is_prn:
            keys = [(order.order_id, "PRN")]
        else:
            keys = sorted(k for k in cells if k[0] == order.order_id)
        if not keys:
            continue
        first = len(rows)
        for key in keys:
            row: list[Any] = ["", key[1]]
            for day in range(1, DAYS + 1):
                if key[1] == "PRN":
                    given = prn_cells.get(order.order_id, {}).get(day, [])
                    row.append(f"{codes.PRN_CODE}{len(given)}\n{given[0]}" if given else "")
                else:
                    row.append(cells.get(key, {}).get(day, ""))
            rows.append(row)
        status = order_status_text(state, data.window_end)
        runs: list[Run] = [(drug_text(order), BOLD, 6.8, colors.black)]
        if status:
            runs.append((status, BOLD, 6.4, colors.HexColor("#B00020")))
        runs.append((directions_text(order), FONT, 5.8, colors.black))
        rows[first][0] = TextCell(runs, med_width - 2)
        if len(keys) > 1:
            style.append(("SPAN", (0, first), (0, len(rows) - 1)))
        style.append(("LINEABOVE", (0, first), (-1, first), 0.8, colors.black))
    if len(rows) == 1:
        rows.append(["No medication orders this month.", "", *[""] * DAYS])
    widths = [med_width, width * TIME_FRACTION, *[day_width] * DAYS]
    cell_font = PLAIN if all(plain_ok(i) for i in initials.values()) else FONT
    table = Table(rows, colWidths=widths, repeatRows=1)
    style += [
        # Day cells hold initials and codes only: the built-in Helvetica draws them several
        # times faster than a TrueType font (no subsetting per string).
        ("FONT", (0, 0), (-1, -1), cell_font, 5.8),
        ("LEADING", (0, 0), (-1, -1), 6.4),
        ("FONT", (0, 0), (-1, 0), BOLD, 6.5),
        ("FONT", (1, 1), (1, -1), BOLD, 6.2),
        ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
        ("GRID", (0, 0), (-1, -1), 0.25, GRID),
        ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("VALIGN", (0, 1), (0, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 1),
        ("RIGHTPADDING", (0, 0), (-1, -1), 1),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if days_in_month < DAYS:
        style.append(("BACKGROUND", (2 + days_in_month, 0), (-1, -1), _NOT_A_DAY))
    for day in range(1, days_in_month + 1):
        if date(data.year, data.month, day).weekday() >= 5:
            style.append(("BACKGROUND", (1 + day, 0), (1 + day, 0), colors.HexColor("#D6DEE8")))
    table.setStyle(TableStyle(style))
    return table


def _signers_line(mar: ResidentMar, data: MonthlyMarData, initials: Mapping[str, str]) -> str:
    meanings = codes.collect_signatures(mar.records)
    legend = codes.signature_legend(data.users, initials, meanings)
    if not legend:
        return "Signatures on this record: none."
    return "Signatures on this record: " + "; ".join(
        f"{s.initials} = {s.full_name}{', ' + s.credentials if s.credentials else ''} ({s.role})"
        for s in legend
    )


def render_monthly_mar(
    data: MonthlyMarData,
    out: Path | BinaryIO,
    *,
    pagesize: str = "letter",
    progress: Progress = no_progress,
) -> ReportInfo:
    """Renders the monthly MAR of ``data`` to ``out`` (path or binary stream). Worker thread.

    Raises :class:`~mar_desktop.errors.ValidationError` for an unknown page size."""
    who = data.printed_by
    month_name = f"{calendar.month_name[data.month]} {data.year}"
    printed = printed_by_text(who, data.printed_at, data.facility)
    scope = f"Unit: {data.unit.name}" if data.unit else "Residents as listed"
    lines = [f"{data.facility.name} · {scope}", f"{month_name} · times in {data.facility.timezone}"]

    def header(canv: Any, width: float, height: float) -> None:
        header_lines(canv, width, height, f"Monthly MAR - {month_name}", lines, printed)

    progress(0.0, "Preparing the monthly MAR")
    doc = MarDoc(
        out,
        pagesize=pagesize,
        title=f"Monthly MAR {data.year:04d}-{data.month:02d}",
        header=header,
        footer_text="Initials = given by. Codes (R, H, NA, M, X, ...) are explained in the legend "
        "at the end of this document.",
        progress=progress,
        blocks=len(data.residents),
    )
    st = styles()
    initials = codes.initials_map(data.users.values())
    width = doc.body_width
    first_day = date(data.year, data.month, 1)
    story: list[Flowable] = []
    for index, mar in enumerate(data.residents):
        banner = resident_banner(mar.resident, first_day)
        if index:
            story.append(PageBreak())
        story += [
            Marker(doc, mar.resident.resident_id, banner, start=True),
            banner_table(mar.resident, first_day, width, st),
            _grid(mar, data, width, initials, st),
            Spacer(1, 3),
            TextCell([(_signers_line(mar, data, initials), FONT, 6.4, GREY)], width),
            Marker(doc, mar.resident.resident_id, banner, start=False),
        ]
    if not data.residents:
        story.append(Paragraph("No residents for this month.", st["bold"]))
    story.append(PageBreak())
    records = [r for mar in data.residents for r in mar.records]
    story += legend_flowables(
        data.facility.settings.reason_codes,
        data.users,
        initials,
        codes.collect_signatures(records),
        width,
        st,
    )
    return doc.render(story)


__all__ = ["render_monthly_mar"]
