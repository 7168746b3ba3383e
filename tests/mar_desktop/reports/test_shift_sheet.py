"""The shift MAR sheet: content, signatures, voids, layout and the audit of every print."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pdfplumber
import pytest

from mar_desktop.errors import PermissionDenied, ValidationError
from mar_desktop.model import DoseStatus
from mar_desktop.reports import codes
from mar_desktop.reports.gather import ReportService
from mar_desktop.reports.shift_sheet import render_shift_sheet
from mar_desktop.reports.shifts import shift_window
from tests.mar_desktop.reports.world import SHIFT_DAY, ReportWorld


def _pages(path: Path) -> list[str]:
    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def _render(rw: ReportWorld, tmp_path: Path, pagesize: str = "letter") -> tuple[list[str], object]:
    data = ReportService(rw.world.ports).shift_sheet(
        rw.world.principal("nurse"), unit_id=rw.unit_id, day=SHIFT_DAY, shift="day"
    )
    out = tmp_path / "shift.pdf"
    info = render_shift_sheet(data, out, pagesize=pagesize)
    return _pages(out), (data, info)


def test_every_scheduled_dose_code_and_legend_entry_is_printed(
    rw: ReportWorld, tmp_path: Path
) -> None:
    pages, (data, info) = _render(rw, tmp_path)
    text = "\n".join(pages)
    zone = data.facility.zone
    assert "Riverbend Care Center" in text and "Day shift 07:00–15:00" in text
    assert "Printed by Marisol Ortega, RN" in text
    for mar in data.residents:
        assert f"{mar.resident.family_name.upper()}, {mar.resident.given_name}" in text
        assert mar.resident.date_of_birth.strftime("%Y-%m-%d") in text
        for allergy in mar.resident.allergies:
            assert allergy.substance.upper() in text
        for dose in mar.doses:  # every scheduled dose of the shift, with its drug
            page = pages[info.layout[mar.resident.resident_id][0] - 1]
            assert dose.scheduled_for.astimezone(zone).strftime("%H:%M") in page
            state = next(s for s in mar.orders if s.order_id == dose.order_id)
            assert state.order.drug in page
            code = codes.status_code(dose.status)
            if dose.record is None and code:
                assert code in page.split()
    assert any(d.status == DoseStatus.MISSED for m in data.residents for d in m.doses)
    for code in codes.code_legend(data.facility.settings.reason_codes):  # codes legend
        assert code.meaning in text.replace("\n", " ")
    for name in ("Marisol Ortega", "Keisha Lambert", "Dana Whitfield"):  # signature legend
        assert name in pages[-1]
    assert codes.MEANING_WITNESSED in text and codes.MEANING_VOIDED in text
    assert codes.MEANING_AMENDED in text
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]


def test_void_refusal_amendment_prn_and_witness_are_shown(rw: ReportWorld, tmp_path: Path) -> None:
    pages, _ = _render(rw, tmp_path)
    text = "\n".join(pages)
    assert "VOIDED 07:20 by MO: Charted on the wrong dose time" in text
    assert "X G" in text  # the voided record, struck through but still readable
    assert "Refused by resident - Says it upsets stomach" in text
    assert "Amended 08:40 by MO: BP taken sitting; resident tolerated well" in text
    assert "P 72, SBP 130" in text
    assert "Pain in left knee (pain 6/10)" in text and "11:05 effective" in text
    morphine_line = next(line for line in text.splitlines() if line.startswith("Morphine"))
    assert " DW" in morphine_line  # the witness's initials beside the dose


def test_voided_record_is_struck_through(rw: ReportWorld, tmp_path: Path) -> None:
    _, (_data, info) = _render(rw, tmp_path)
    with pdfplumber.open(tmp_path / "shift.pdf") as pdf:
        page = pdf.pages[info.layout[rw.r0.resident_id][0] - 1]
        word = next(w for w in page.extract_words() if w["text"] == "07:05")
        strikes = [
            line
            for line in page.lines
            if line["x0"] <= word["x0"] + 1
            and line["x1"] >= word["x1"] - 1
            and word["top"] < line["top"] < word["bottom"]
        ]
    assert strikes, "the voided administration time has no strike line"


def test_no_resident_block_splits_and_headers_repeat(rw: ReportWorld, tmp_path: Path) -> None:
    pages, (data, info) = _render(rw, tmp_path, pagesize="a4")
    assert set(info.layout) == {m.resident.resident_id for m in data.residents}
    assert info.oversized == ()
    for mar in data.residents:
        first, last = info.layout[mar.resident.resident_id]
        assert first == last
        name = f"{mar.resident.family_name.upper()}, {mar.resident.given_name}"
        assert [i + 1 for i, p in enumerate(pages) if name in p] == [first]
    assert all("Shift Medication Administration Record" in p for p in pages)


def test_a_block_taller_than_a_page_continues_under_a_banner(
    rw: ReportWorld, tmp_path: Path
) -> None:
    data = ReportService(rw.world.ports).shift_sheet(
        rw.world.principal("admin"), unit_id=rw.unit_id, day=SHIFT_DAY, shift="day"
    )
    big = data.residents[0]
    many = type(big)(big.resident, big.orders * 12, big.doses * 12, big.records)
    tall = type(data)(
        data.facility,
        data.unit,
        data.window,
        data.printed_by,
        data.printed_at,
        (many, *data.residents[1:]),
        data.users,
    )
    out = tmp_path / "tall.pdf"
    info = render_shift_sheet(tall, out)
    first, last = info.layout[big.resident.resident_id]
    assert info.oversized == (big.resident.resident_id,) and last > first
    pages = _pages(out)
    assert "(continued) Room" in pages[first]  # the page after the block's first page


def test_night_shift_spans_midnight(rw: ReportWorld) -> None:
    zone = rw.world.store.reader().facility().zone  # type: ignore[union-attr]
    window = shift_window(date(2026, 3, 2), "night", zone)
    assert (window.end - window.start).total_seconds() == 8 * 3600
    assert window.start.astimezone(zone).hour == 23 and window.end.astimezone(zone).day == 3
    with pytest.raises(ValidationError):
        shift_window(date(2026, 3, 2), "graveyard", zone)


def test_print_is_audited_and_needs_the_permission(rw: ReportWorld) -> None:
    ledger = rw.world.store.ledger
    service = ReportService(rw.world.ports)
    before = ledger.head("audit")[0]
    data = service.shift_sheet(
        rw.world.principal("nurse"), unit_id=rw.unit_id, day=SHIFT_DAY, shift="day"
    )
    seq, _ = ledger.head("audit")
    assert seq == before + 1
    audit_entries = _audit_after(rw, before)
    assert audit_entries[-1].kind == "audit.printed"
    after = audit_entries[-1].body["after"]
    assert after["report"] == "shift_mar" and after["shift"] == "day"
    assert sorted(after["resident_ids"]) == sorted(m.resident.resident_id for m in data.residents)
    assert after["from"].startswith("2026-03-02T13:00")
    with pytest.raises(PermissionDenied):
        service.shift_sheet(
            rw.world.principal("cna"), unit_id=rw.unit_id, day=SHIFT_DAY, shift="day"
        )
    assert _audit_after(rw, seq)[-1].kind == "audit.permission_refused"


def _audit_after(rw: ReportWorld, seq: int) -> list:  # type: ignore[type-arg]
    conn = rw.world.store.connect_reader()
    try:
        rows = conn.execute("SELECT id FROM audit WHERE seq > ? ORDER BY seq", (seq,)).fetchall()
    finally:
        conn.close()
    return [rw.world.store.ledger.entry(r[0]) for r in rows]


def test_progress_is_reported(rw: ReportWorld, tmp_path: Path) -> None:
    data = ReportService(rw.world.ports).shift_sheet(
        rw.world.principal("admin"), unit_id=rw.unit_id, day=SHIFT_DAY, shift="day"
    )
    seen: list[float] = []
    render_shift_sheet(data, tmp_path / "p.pdf", progress=lambda f, _t: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 3
