"""Regenerates the page images in docs/reports/ from the report test world.

Run: ``PYTHONPATH=. .venv/bin/python -m tests.mar_desktop.reports.render_docs`` (needs
``pdftoppm``, Debian package poppler-utils). Not a test; the images are checked in so reviewers
can see the reports.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from mar_desktop.reports.export import write_surveyor_export
from mar_desktop.reports.gather import ReportService
from mar_desktop.reports.monthly import render_monthly_mar
from mar_desktop.reports.shift_sheet import render_shift_sheet
from storage.report_queries import ReportQueries
from tests.mar_desktop.reports.world import SHIFT_DAY, build_report_world, local

DOCS = Path(__file__).resolve().parents[3] / "docs" / "reports"


def _png(pdf: Path, name: str, page: int) -> None:
    target = DOCS / name
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "100",
            "-png",
            "-singlefile",
            "-f",
            str(page),
            "-l",
            str(page),
            str(pdf),
            str(target),
        ],
        check=True,
    )


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rw = build_report_world(tmp / "world")
        try:
            service = ReportService(rw.world.ports)
            nurse = rw.world.principal("nurse")
            shift = service.shift_sheet(nurse, unit_id=rw.unit_id, day=SHIFT_DAY, shift="day")
            info = render_shift_sheet(shift, tmp / "shift.pdf")
            _png(tmp / "shift.pdf", "shift-sheet-page1", 1)
            _png(tmp / "shift.pdf", "shift-sheet-legend", info.pages)
            month = service.monthly_mar(nurse, year=2026, month=3, unit_id=rw.unit_id)
            minfo = render_monthly_mar(month, tmp / "month.pdf")
            _png(tmp / "month.pdf", "monthly-mar-page1", 1)
            _png(tmp / "month.pdf", "monthly-mar-legend", minfo.pages)
            queries = ReportQueries(rw.world.store.connect_reader())
            try:
                data = service.export_data(
                    rw.world.principal("surveyor"), since=local(7), until=local(12), entries=queries
                )
                device_id, signer = queries.device_signer()
            finally:
                queries.close()
            write_surveyor_export(
                data, tmp / "export", signer=signer, device_id=device_id, verification="OK: sample"
            )
            _png(tmp / "export" / "entries.pdf", "export-chronological-page1", 1)
            shutil.copy(tmp / "export" / "manifest.json", DOCS / "sample-manifest.json")
        finally:
            rw.world.store.close()


if __name__ == "__main__":
    main()
