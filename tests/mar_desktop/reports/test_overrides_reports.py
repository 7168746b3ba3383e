"""Overrides on paper and in the surveyor export: the shift sheet, the chronological PDF and
entries.csv show each accepted warning in words (never a raw code), with its reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pdfplumber
import pytest

from mar_desktop.model import Outcome
from mar_desktop.reports.csv_export import EARLIER_COLUMN_NAMES, read_entries_csv
from mar_desktop.reports.export import write_surveyor_export
from mar_desktop.reports.gather import ReportService
from mar_desktop.reports.shift_sheet import render_shift_sheet
from mar_desktop.services.recording import AdministrationRequest
from storage.report_queries import ReportQueries
from tests.facility import NOW
from tests.mar_desktop.reports.world import SHIFT_DAY, ReportWorld, build_report_world, local

LATE = "came back late from therapy"
RAW_CODES = ("wristband_not_scanned", "medication_not_scanned", "outside_window", "prn_indication")


def _words(text: str) -> str:
    return " ".join(text.split())


def late_bypassed_dose(rw: ReportWorld) -> str:
    """Adds to the report world a dose given at 13:30 for 09:00, its medication checked by hand
    (barcode damaged); returns its entry id. Leaves the clock at NOW."""
    world = rw.world
    order = next(o for o in world.seeded.demo.orders
                 if o.resident_id == rw.r0.resident_id and o.drug.startswith("Cholecalciferol"))
    world.clock.set(local(13, 31))
    dose = world.recording.record_administration(
        world.principal("nurse"),
        AdministrationRequest(
            resident_id=rw.r0.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
            scheduled_for=local(9), administered_at=local(13, 30),
            wristband_scan=rw.r0.wristband_id, medication_confirmed=True,
            medication_bypass_reason="barcode_damaged", outside_window_reason=LATE,
            allergy_acknowledged=True,
        ),
    )
    world.clock.set(NOW)
    return dose.id


@pytest.fixture(scope="module")
def ow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReportWorld, str]]:
    """The report world plus :func:`late_bypassed_dose`."""
    rw = build_report_world(tmp_path_factory.mktemp("overrides"))
    yield rw, late_bypassed_dose(rw)
    rw.world.store.close()


def test_the_shift_sheet_shows_each_override_in_words(
    ow: tuple[ReportWorld, str], tmp_path: Path
) -> None:
    rw, _ = ow
    data = ReportService(rw.world.ports).shift_sheet(
        rw.world.principal("nurse"), unit_id=rw.unit_id, day=SHIFT_DAY, shift="day"
    )
    render_shift_sheet(data, tmp_path / "shift.pdf")
    with pdfplumber.open(tmp_path / "shift.pdf") as pdf:
        lines = "\n".join(p.extract_text() or "" for p in pdf.pages).splitlines()
    # the notes column wraps, and its lines interleave with the order's in the text
    assert "Override: Medication not scanned: checked by hand: Barcode" in lines
    assert "damaged or unreadable (MO)" in lines
    assert f"09:00 MO 13:30 G 1000 IU Outside window: {LATE}" in lines
    # the morphine dose of a resident allergic to codeine: the acknowledgement is printed
    assert any("Override: Allergy warning acknowledged: Allergy recorded: Codeine" in line
               for line in lines)
    assert not any(code in line for code in RAW_CODES for line in lines)


def test_the_surveyor_export_lists_the_overrides_in_words(
    ow: tuple[ReportWorld, str], tmp_path: Path
) -> None:
    rw, dose_id = ow
    queries = ReportQueries(rw.world.store.connect_reader())
    try:
        data = ReportService(rw.world.ports).export_data(
            rw.world.principal("surveyor"), since=local(7), until=local(15), entries=queries
        )
        device_id, signer = queries.device_signer()
        write_surveyor_export(data, tmp_path / "export", signer=signer, device_id=device_id,
                              verification="OK")
    finally:
        queries.close()
    rows = {r["entry_id"]: r for r in read_entries_csv(tmp_path / "export" / "entries.csv")}
    assert rows[dose_id]["overrides"] == (
        "Medication not scanned: checked by hand: Barcode damaged or unreadable "
        f"(Marisol Ortega); Given outside the time window: {LATE} (Marisol Ortega)"
    )
    assert rows[rw.refused_entry]["overrides"] == ""
    assert rows[rw.witnessed_entry]["overrides"].startswith(  # codeine allergy, morphine
        "Allergy warning acknowledged: Allergy recorded: Codeine"
    )
    linked = [json.loads(r["body_json"])["administration_entry_id"]
              for r in rows.values() if r["kind"] == "administration.overrides"]
    assert sorted(linked) == sorted([dose_id, rw.witnessed_entry])
    with pdfplumber.open(tmp_path / "export" / "entries.pdf") as pdf:
        text = _words("\n".join(p.extract_text() or "" for p in pdf.pages))
    assert "Warnings accepted for dose" in text
    assert "override: Medication not scanned: checked by hand: Barcode damaged" in text
    assert not any(code in text for code in RAW_CODES)


def test_an_export_written_before_the_overrides_column_still_reads(tmp_path: Path) -> None:
    old = tmp_path / "entries.csv"
    old.write_text(",".join(EARLIER_COLUMN_NAMES) + "\r\n", encoding="utf-8")
    assert read_entries_csv(old) == []
