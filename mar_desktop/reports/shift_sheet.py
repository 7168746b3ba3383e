"""The shift MAR sheet (Letter or A4, landscape).

``render_shift_sheet`` is pure: it draws the data it is given. Layout: a header repeated on every
page (facility, unit, shift and its dates, printed by/when); per resident one block — banner with
name, room, date of birth and allergies (red), the scheduled doses of the shift against each
active order (initials, time, code, dose, vitals, witness, notes), the PRN doses with reasons
and follow-ups, and the other active orders not due this shift — kept together on one page.
A block taller than a whole page cannot be kept together: it starts on a fresh page and flows
on, each following page opening with a red "(continued) <resident>" banner (reported in
``ReportInfo.oversized``). Voided records stay readable, struck through, with the void reason.
The sheet ends with the codes legend and the signature legend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from mar_desktop.clinical.dose import order_dose_text
from mar_desktop.clinical.routes import route_words
from mar_desktop.model import DoseStatus
from mar_desktop.reports import codes
from mar_desktop.reports.blocks import banner_table, legend_flowables, scaled
from mar_desktop.reports.data import Progress, ReportInfo, ResidentMar, ShiftSheetData, no_progress
from mar_desktop.reports.pdfkit import (
    BOLD,
    FONT,
    GREY,
    GRID,
    LIGHT,
    PLAIN,
    PLAIN_BOLD,
    RED,
    MarDoc,
    Marker,
    Run,
    TextCell,
    header_lines,
    plain_ok,
    printed_by_text,
    styles,
    text_cell,
)
from mar_desktop.reports.text import (
    clock_text,
    directions_text,
    dose_text,
    drug_text,
    followup_text,
    note_lines,
    order_status_text,
    override_line,
    resident_banner,
    vitals_text,
    void_line,
)
from mar_desktop.views import AdministrationRecord, OrderState, OrderStatus

SCHED_COLS = (0.25, 0.055, 0.045, 0.055, 0.045, 0.06, 0.1, 0.06, 0.33)
SCHED_HEAD = [
    "Medication / directions",
    "Sched.",
    "Init.",
    "Time",
    "Code",
    "Dose",
    "Vitals",
    "Witness",
    "Reason / notes",
]
PRN_COLS = (0.25, 0.055, 0.045, 0.045, 0.06, 0.17, 0.1, 0.06, 0.215)
PRN_HEAD = [
    "PRN medication / directions",
    "Time",
    "Init.",
    "Code",
    "Dose",
    "PRN reason / pain",
    "Follow-up",
    "Witness",
    "Notes",
]
STATUS_WORDS = {
    DoseStatus.DUE: "Due at print time",
    DoseStatus.MISSED: "Missed - not documented",
    DoseStatus.LATE: "Late - not documented at print time",
    DoseStatus.HELD: "Order on hold",
    DoseStatus.VOIDED: "Only entry voided - not documented",
}


PAD = 3.0


class _Ctx:
    def __init__(self, data: ShiftSheetData, width: float) -> None:
        self.data = data
        self.zone: ZoneInfo = data.facility.zone
        self.day = data.window.day
        self.width = width
        self.st = styles()
        self.initials = codes.initials_map(data.users.values())
        self.reasons = {r.code: r.label for r in data.facility.settings.reason_codes}
        self.sched_w = [w - 2 * PAD for w in scaled(SCHED_COLS, width)]
        self.prn_w = [w - 2 * PAD for w in scaled(PRN_COLS, width)]

    def ini(self, user_id: str | None) -> str:
        return self.initials.get(user_id or "", "?") if user_id else ""


def _cell(text: str, width: float, voided: bool, *, size: float = 7.2, bold: bool = False) -> Any:
    """Short unstruck cp1252 text stays a plain string drawn in the column's built-in font
    (cheapest); anything else becomes a TextCell."""
    if not voided and len(text) <= 12 and size >= 7.2 and plain_ok(text):
        return text
    return text_cell(text, width, size=size, bold=bold, strike=voided)


def _order_cell(ctx: _Ctx, state: OrderState, width: float) -> TextCell:
    status = order_status_text(state, ctx.data.window.start)
    runs: list[Run] = [(drug_text(state.order), BOLD, 7.4, colors.black)]
    if status:
        runs.append((status, BOLD, 7.4, RED))
    runs.append((directions_text(state.order), FONT, 6.6, colors.black))
    if state.order.prescriber:
        runs.append((f"Prescriber: {state.order.prescriber}", FONT, 6.2, GREY))
    return TextCell(runs, width)


def _notes(ctx: _Ctx, record: AdministrationRecord, extra: list[str], width: float) -> Any:
    accepted = [  # the outside-window reason is a note line of its own already
        f"Override: {override_line(o, ctx.initials)}"
        for o in ctx.data.overrides.get(record.entry_id, ())
        if not (o.code == "outside_window" and record.outside_window_reason)
    ]
    lines = [*extra, *note_lines(record, ctx.initials, ctx.zone, ctx.reasons), *accepted]
    if not lines and not record.voided:
        return ""
    cell = TextCell(
        [("\n".join(lines), FONT, 6.6, colors.black)] if lines else [], width, strike=record.voided
    )
    if record.voided:
        void = TextCell([(void_line(record, ctx.initials, ctx.zone), BOLD, 6.6, RED)], width)
        return [cell, void] if lines else void
    return cell


def _record_row(ctx: _Ctx, record: AdministrationRecord, sched: str) -> list[Any]:
    v = record.voided
    w = ctx.sched_w
    code = codes.record_code(record)
    return [
        "",
        sched,
        _cell(ctx.ini(record.actor_user_id), w[2], v, bold=True, size=8),
        _cell(clock_text(record.administered_at, ctx.zone, ctx.day), w[3], v),
        _cell(f"{codes.VOID_CODE} {code}" if v else code, w[4], v),
        _cell(dose_text(record), w[5], v),
        _cell(vitals_text(record), w[6], v, size=6.6),
        _cell(ctx.ini(record.witness_user_id), w[7], v),
        _notes(ctx, record, [], w[8]),
    ]


def _scheduled_table(ctx: _Ctx, mar: ResidentMar) -> tuple[Table | None, list[OrderState]]:
    by_order: dict[str, list[AdministrationRecord]] = {}
    for record in mar.records:
        if record.scheduled_for is not None:
            by_order.setdefault(record.order_id, []).append(record)
    doses: dict[str, list[Any]] = {}
    for dose in mar.doses:
        doses.setdefault(dose.order_id, []).append(dose)
    rows: list[list[Any]] = [list(SCHED_HEAD)]
    style: list[Any] = []
    idle: list[OrderState] = []
    for state in mar.orders:
        if state.order.is_prn:
            continue
        order_rows: list[list[Any]] = []
        records = sorted(
            by_order.get(state.order_id, []), key=lambda r: (r.scheduled_for, r.recorded_at)
        )
        matched: set[str] = set()
        for dose in doses.get(state.order_id, []):
            sched = clock_text(dose.scheduled_for, ctx.zone, ctx.day)
            mine = [r for r in records if r.scheduled_for == dose.scheduled_for]
            matched.update(r.entry_id for r in mine)
            if not mine:
                code = codes.status_code(dose.status)
                words = STATUS_WORDS.get(dose.status, "")
                order_rows.append(
                    [
                        "",
                        sched,
                        "",
                        "",
                        code,
                        "",
                        "",
                        "",
                        _cell(words, ctx.sched_w[8], False, size=6.6),
                    ]
                )
            for record in mine:
                order_rows.append(_record_row(ctx, record, sched))
        for record in records:  # recorded in this shift against a dose of another window
            if record.entry_id not in matched and record.scheduled_for is not None:
                sched = clock_text(record.scheduled_for, ctx.zone, ctx.day)
                order_rows.append(_record_row(ctx, record, sched))
        if not order_rows:
            idle.append(state)
            continue
        first = len(rows)
        order_rows[0][0] = _order_cell(ctx, state, ctx.sched_w[0])
        rows.extend(order_rows)
        if len(order_rows) > 1:
            style.append(("SPAN", (0, first), (0, first + len(order_rows) - 1)))
        style.append(("LINEABOVE", (0, first), (-1, first), 0.6, GRID))
    if len(rows) == 1:
        return None, idle
    table = Table(rows, colWidths=scaled(SCHED_COLS, ctx.width), repeatRows=1)
    table.setStyle(TableStyle([*_BASE_STYLE, *style]))
    return table, idle


_BASE_STYLE: list[Any] = [
    ("FONT", (0, 0), (-1, -1), PLAIN, 7.2),
    ("FONT", (0, 0), (-1, 0), PLAIN_BOLD, 7),
    ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
    ("FONT", (2, 1), (2, -1), PLAIN_BOLD, 8),
    ("BOX", (0, 0), (-1, -1), 0.6, GRID),
    ("INNERGRID", (1, 0), (-1, -1), 0.25, GRID),
    ("LINEAFTER", (0, 0), (0, -1), 0.25, GRID),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("TOPPADDING", (0, 0), (-1, -1), 2),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ("LEFTPADDING", (0, 0), (-1, -1), 3),
    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
]


def _prn_table(ctx: _Ctx, mar: ResidentMar) -> tuple[Table | None, list[OrderState]]:
    prn_orders = [s for s in mar.orders if s.order.is_prn]
    records_of: dict[str, list[AdministrationRecord]] = {}
    for record in mar.records:
        if record.scheduled_for is None:
            records_of.setdefault(record.order_id, []).append(record)
    rows: list[list[Any]] = [list(PRN_HEAD)]
    style: list[Any] = []
    idle: list[OrderState] = []
    for state in prn_orders:
        records = records_of.get(state.order_id, [])
        if not records:
            idle.append(state)
            continue
        first = len(rows)
        for record in records:
            v = record.voided
            reason = record.prn_reason + (
                f" (pain {record.pain_score}/10)" if record.pain_score is not None else ""
            )
            code = (
                codes.VOID_CODE + " " + codes.record_code(record)
                if v
                else codes.record_code(record)
            )
            w = ctx.prn_w
            extra = [f"Vitals: {vitals_text(record)}"] if record.vitals else []
            rows.append(
                [
                    "",
                    _cell(clock_text(record.administered_at, ctx.zone, ctx.day), w[1], v),
                    _cell(ctx.ini(record.actor_user_id), w[2], v, bold=True, size=8),
                    _cell(code, w[3], v),
                    _cell(dose_text(record), w[4], v),
                    _cell(reason, w[5], v, size=6.6),
                    _cell(followup_text(record, ctx.zone), w[6], v, size=6.6),
                    _cell(ctx.ini(record.witness_user_id), w[7], v),
                    _notes(ctx, record, extra, w[8]),
                ]
            )
        rows[first][0] = _order_cell(ctx, state, ctx.prn_w[0])
        if len(records) > 1:
            style.append(("SPAN", (0, first), (0, len(rows) - 1)))
        style.append(("LINEABOVE", (0, first), (-1, first), 0.6, GRID))
    if len(rows) == 1:
        return None, idle
    table = Table(rows, colWidths=scaled(PRN_COLS, ctx.width), repeatRows=1)
    table.setStyle(TableStyle([*_BASE_STYLE, *style]))
    return table, idle


def _resident_block(ctx: _Ctx, doc: MarDoc, mar: ResidentMar) -> Flowable:
    banner = resident_banner(mar.resident, ctx.day)
    parts: list[Flowable] = [
        Marker(doc, mar.resident.resident_id, banner, start=True),
        banner_table(mar.resident, ctx.day, ctx.width, ctx.st),
    ]
    scheduled, idle = _scheduled_table(ctx, mar)
    prn, idle_prn = _prn_table(ctx, mar)
    if scheduled is not None:
        parts.append(scheduled)
    if prn is not None:
        parts.append(prn)
    runs: list[Run] = []
    if idle:
        runs.append(
            (
                "Scheduled, not due this shift: "
                + "; ".join(f"{drug_text(s.order)} ({_short(s)})" for s in idle),
                FONT,
                6.6,
                colors.black,
            )
        )
    if idle_prn:
        runs.append(
            (
                "PRN orders, none given this shift: "
                + "; ".join(f"{drug_text(s.order)} ({_short(s)})" for s in idle_prn),
                FONT,
                6.6,
                colors.black,
            )
        )
    if not mar.orders:
        runs.append(("No active medication orders.", BOLD, 7.2, colors.black))
    if runs:
        parts += [Spacer(1, 2), TextCell(runs, ctx.width)]
    parts += [Spacer(1, 7), Marker(doc, mar.resident.resident_id, banner, start=False)]
    return KeepTogether(parts)


def _short(state: OrderState) -> str:
    order = state.order
    base = f"{order_dose_text(order)} {route_words(order.route)}"
    return f"{base}, on hold" if state.status == OrderStatus.HELD else base


def render_shift_sheet(
    data: ShiftSheetData,
    out: Path | BinaryIO,
    *,
    pagesize: str = "letter",
    progress: Progress = no_progress,
) -> ReportInfo:
    """Renders the shift MAR sheet of ``data`` to ``out`` (a path or a binary stream).

    Worker thread only (takes ~0.3 s for 60 residents). ``progress`` gets fractions 0..1.
    Raises :class:`~mar_desktop.errors.ValidationError` for an unknown page size."""
    zone = data.facility.zone
    who = data.printed_by
    printed = printed_by_text(who, data.printed_at, data.facility)
    lines = [
        f"{data.facility.name} · Unit: {data.unit.name}",
        f"{data.window.describe(zone)} · times in {data.facility.timezone}",
    ]

    def header(canv: Any, width: float, height: float) -> None:
        header_lines(canv, width, height, "Shift Medication Administration Record", lines, printed)

    progress(0.0, "Preparing the shift sheet")
    doc = MarDoc(
        out,
        pagesize=pagesize,
        title=f"Shift MAR {data.unit.name} {data.window.day:%Y-%m-%d} {data.window.shift.name}",
        header=header,
        footer_text="Initials and codes are explained in the legend at the end of this sheet. "
        "Struck-through entries were voided as entered in error.",
        progress=progress,
        blocks=len(data.residents),
    )
    ctx = _Ctx(data, doc.body_width)
    story: list[Flowable] = [_resident_block(ctx, doc, mar) for mar in data.residents]
    if not data.residents:
        story.append(Paragraph("No residents on this unit for this shift.", ctx.st["bold"]))
    records = [r for mar in data.residents for r in mar.records]
    story += legend_flowables(
        data.facility.settings.reason_codes,
        data.users,
        ctx.initials,
        codes.collect_signatures(records),
        ctx.width,
        ctx.st,
    )
    return doc.render(story)


__all__ = ["render_shift_sheet"]
