"""The access report's files: the manifest is signed like the surveyor export's and
``check_export`` verifies it; an extra, missing, renamed or changed file is found; CSV cells a
spreadsheet would run as a formula are quoted."""

from __future__ import annotations

import csv
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mar_desktop.access_report import AccessReport, AccessRow
from mar_desktop.errors import ValidationError
from mar_desktop.reports.access_export import Kind, write_access_export
from mar_desktop.reports.export import check_export
from mar_desktop.signing import DeviceSigner

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
SIGNER = DeviceSigner.generate()


def _report() -> AccessReport:
    row = AccessRow("2026-05-01T12:05:00.000000Z", "=HYPERLINK(1)", "u1", "nurse", "cart-a",
                    "dev-a", "10.0.0.7", "view", "Opened the resident's record",
                    "tablet audit", "e1")
    return AccessReport("r1", T0, T0 + timedelta(days=1), (row,))


def _write(out: Path, kind: Kind) -> dict[str, object]:
    return write_access_export(
        _report(), out, kind=kind, signer=SIGNER, device_id="dev-a", facility_id="f",
        facility_name="Maple House", resident_name="101 DOE, Jane", zone=ZoneInfo("UTC"),
        exported_by={"user_id": "u9", "name": "Dana Admin", "role": "facility_admin"},
        exported_at=T0,
    )


@pytest.mark.parametrize("kind", ["csv", "pdf"])
def test_the_manifest_verifies_and_names_one_file(tmp_path: Path, kind: Kind) -> None:
    out = tmp_path / "report"
    manifest = _write(out, kind)
    assert manifest["rows"] == 1 and manifest["resident_id"] == "r1"
    result = check_export(out, trusted_keys=[SIGNER.public_hex])
    assert result.ok and result.trusted_origin, result.summary()
    assert "access report intact, 1 rows" in result.summary()
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert not check_export(out, trusted_keys=[DeviceSigner.generate().public_hex]).ok


def test_changed_extra_and_renamed_files_are_found(tmp_path: Path) -> None:
    out = tmp_path / "report"
    _write(out, "csv")
    (out / "notes.txt").write_text("x", encoding="utf-8")
    assert "Unexpected file in the export: notes.txt." in check_export(out).problems
    (out / "notes.txt").unlink()
    (out / "access-report.csv").rename(out / "access-report.pdf")
    problems = " ".join(check_export(out).problems)
    assert "access-report.csv is missing" in problems and "Unexpected file" in problems


def test_formula_cells_are_quoted_and_a_used_folder_refused(tmp_path: Path) -> None:
    out = tmp_path / "report"
    _write(out, "csv")
    with (out / "access-report.csv").open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["person"] == "'=HYPERLINK(1)" and row["ip"] == "10.0.0.7"
    with pytest.raises(ValidationError):
        _write(out, "csv")
