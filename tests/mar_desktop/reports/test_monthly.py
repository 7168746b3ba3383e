"""The monthly MAR grid: every dose's initials or code on its day, legends, one resident a page."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest

from mar_desktop.errors import PermissionDenied, ValidationError
from mar_desktop.reports import codes
from mar_desktop.reports.gather import ReportService
from mar_desktop.reports.monthly import render_monthly_mar
from mar_desktop.reports.shifts import parse_month
from tests.mar_desktop.reports.world import ReportWorld


def test_grid_holds_every_dose_code_and_legend(rw: ReportWorld, tmp_path: Path) -> None:
    data = ReportService(rw.world.ports).monthly_mar(
        rw.world.principal("admin"), year=2026, month=3, unit_id=rw.unit_id
    )
    out = tmp_path / "month.pdf"
    info = render_monthly_mar(data, out, pagesize="a4")
    initials = codes.initials_map(data.users.values())
    zone = data.facility.zone
    with pdfplumber.open(out) as pdf:
        pages = [p.extract_text() or "" for p in pdf.pages]
        for mar in data.residents:
            first, last = info.layout[mar.resident.resident_id]
            assert first == last
            page = pdf.pages[first - 1]
            words = page.extract_words()
            time_head = next(w for w in words if w["text"] == "Time")
            day2 = next(
                w for w in words if w["text"] == "2" and abs(w["top"] - time_head["top"]) < 2
            )
            column = [
                w["text"]
                for w in words
                if abs((w["x0"] + w["x1"]) / 2 - (day2["x0"] + day2["x1"]) / 2) < 6
            ]
            for dose in mar.doses:  # all doses fall on March 1st/2nd here
                assert dose.scheduled_for.astimezone(zone).strftime("%H:%M") in pages[first - 1]
                if dose.scheduled_for.astimezone(zone).day != 2:
                    continue
                if dose.record is not None and not dose.record.voided:
                    expected = initials[dose.record.actor_user_id]
                    assert expected in column
                    if dose.record.outcome != "given":
                        assert codes.record_code(dose.record) in column
                elif codes.status_code(dose.status):
                    assert codes.status_code(dose.status) in column
    text = "\n".join(pages)
    assert "Monthly MAR - March 2026" in pages[0]
    assert "P1" in text  # the PRN dose of the day
    for code in codes.code_legend(data.facility.settings.reason_codes):
        assert code.meaning in text.replace("\n", " ")
    assert "KL = Keisha Lambert, CMA (CNA)" in text.replace("\n", " ")
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]


def test_single_resident_and_permissions(rw: ReportWorld, tmp_path: Path) -> None:
    service = ReportService(rw.world.ports)
    data = service.monthly_mar(
        rw.world.principal("surveyor"), year=2026, month=3, resident_id=rw.r4.resident_id
    )
    assert [m.resident.resident_id for m in data.residents] == [rw.r4.resident_id]
    render_monthly_mar(data, tmp_path / "one.pdf")
    with pdfplumber.open(tmp_path / "one.pdf") as pdf:
        text = pdf.pages[0].extract_text() or ""
    assert "Morphine" in text and rw.r4.family_name.upper() in text
    with pytest.raises(PermissionDenied):
        service.monthly_mar(rw.world.principal("cna"), year=2026, month=3)


def test_month_parsing() -> None:
    assert parse_month("2026-02") == (2026, 2)
    for bad in ("2026-13", "26-01", "January", "2026/01"):
        with pytest.raises(ValidationError):
            parse_month(bad)
