"""A partial dose reads in the resident's history as "partial dose: 325 of 650 mg — spat out"
beside the amount taken (a reason text with no reason code is shown as it is)."""

from __future__ import annotations

from decimal import Decimal

from tests.mar_desktop.clinical import factories as f
from ui.screens.mar_history import history_row


def test_the_history_row_names_the_partial_dose() -> None:
    record = f.record(None, dose_given=Decimal(325), dose_unit="mg",
                      reason_text="partial dose: 325 of 650 mg — spat out")
    row = history_row(record, None, f.facility(), {"u-nurse": "Marisol Ortega"})
    text = "\n".join(row.cells)
    assert "325 mg" in text and "partial dose: 325 of 650 mg — spat out" in text
    plain = history_row(f.record(None, dose_given=Decimal(650), dose_unit="mg"), None,
                        f.facility(), {})
    assert "partial" not in "\n".join(plain.cells)
