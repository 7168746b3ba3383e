"""Printouts say the route in words, as the screens do: an order written "PO" prints "oral" on
the shift sheet, the monthly MAR, the chronological export and in the CSV (whose ``body_json``
still holds the entry exactly as signed)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pdfplumber
import pytest

from mar_desktop.demo.history import scan_string
from mar_desktop.model import Outcome, Schedule
from mar_desktop.reports.csv_export import read_entries_csv
from mar_desktop.reports.export import write_surveyor_export
from mar_desktop.reports.gather import ReportService
from mar_desktop.reports.monthly import render_monthly_mar
from mar_desktop.reports.shift_sheet import render_shift_sheet
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.verification import VerificationService
from storage.report_queries import ReportQueries
from tests.facility import World, make_world
from tests.mar_desktop.reports.world import SHIFT_DAY, local

DRUG = "Furosemide"


@pytest.fixture
def world(tmp_path: Path) -> World:
    """A facility with one order written "PO" (as many orders are) and a dose given on it."""
    world = make_world(tmp_path, residents_per_unit=1)
    admin, nurse = world.principal("admin"), world.principal("nurse")
    resident, template = world.resident_with("Omeprazole")
    order = template.model_copy(update={
        "order_id": "o-furosemide", "drug": DRUG, "strength": "20 mg", "route": "PO",
        "hold_parameters": (),
        "schedule": Schedule(kind="fixed_times", times=("08:00",)),
        "start": local(0) - timedelta(days=1),
    })
    world.clock.set(local(6))
    world.reference.create_order(admin, order)
    pending = [p.target_entry_id for p in world.store.reader().pending_verifications()]
    VerificationService(world.ports).verify_many(nurse, pending)
    scheduled = local(8)
    world.clock.set(scheduled + timedelta(minutes=3))
    world.recording.record_administration(nurse, AdministrationRequest(
        resident_id=resident.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
        scheduled_for=scheduled, administered_at=scheduled + timedelta(minutes=2),
        wristband_scan=resident.wristband_id, medication_scan=scan_string(order),
        allergy_acknowledged=True))
    world.clock.set(local(14))
    return world


def _text(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def _route_printed(text: str) -> tuple[bool, bool]:
    """(the order's dose says "oral", "PO" appears as a word anywhere)."""
    flat = " ".join(text.split())
    return "oral" in flat, re.search(r"\bPO\b", flat) is not None


def test_the_shift_sheet_and_monthly_mar_print_the_route_in_words(
    world: World, tmp_path: Path
) -> None:
    resident, _ = world.resident_with("Omeprazole")
    reports = ReportService(world.ports)
    sheet = reports.shift_sheet(world.principal("nurse"), unit_id=resident.unit_id,
                                day=SHIFT_DAY, shift="day")
    render_shift_sheet(sheet, tmp_path / "shift.pdf")
    text = _text(tmp_path / "shift.pdf")
    assert DRUG in text
    assert _route_printed(text) == (True, False), text
    month = reports.monthly_mar(world.principal("admin"), year=2026, month=3,
                                resident_id=resident.resident_id)
    render_monthly_mar(month, tmp_path / "month.pdf")
    text = _text(tmp_path / "month.pdf")
    assert DRUG in text
    assert _route_printed(text) == (True, False), text


def test_the_surveyor_export_prints_the_route_in_words(world: World, tmp_path: Path) -> None:
    queries = ReportQueries(world.store.connect_reader())
    try:
        data = ReportService(world.ports).export_data(
            world.principal("admin"), since=local(0), until=local(14), entries=queries)
        device_id, signer = queries.device_signer()
    finally:
        queries.close()
    out = tmp_path / "export"
    write_surveyor_export(data, out, signer=signer, device_id=device_id, verification="OK")
    text = _text(out / "entries.pdf")
    dose_line = " ".join(text.split())
    assert f"{DRUG} 20 mg capsule; GIVEN; 20 mg oral;" in dose_line, dose_line
    assert re.search(r"\bPO\b", dose_line) is None
    (row,) = [r for r in read_entries_csv(out / "entries.csv")
              if r["kind"] == "administration.recorded" and r["order_id"] == "o-furosemide"]
    assert row["route"] == "oral"
    assert json.loads(row["body_json"])["route"] == "PO"  # the signed entry, as recorded
