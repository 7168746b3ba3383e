"""The order form edits a dose range, a sliding scale and a 24-hour amount maximum: what is
entered is the order built, an order opened for a change shows them again, and a bad row is
refused at its field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtWidgets import QApplication

from tests.mar_desktop.clinical.factories import order, resident
from ui.admin.forms import FieldError
from ui.admin.order_dialog import OrderDialog

NOW = datetime(2026, 3, 2, 14, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")


def _filled(dialog: OrderDialog) -> None:
    dialog.drug.setText("Insulin lispro")
    dialog.dose.setText("2")
    dialog.dose_unit.setText("units")


def test_range_scale_and_daily_maximum_are_built_into_the_order(qapp: QApplication) -> None:
    dialog = OrderDialog(resident(), ZONE, NOW, None)
    _filled(dialog)
    dialog.dose_max.setText("4")
    dialog.amount_max.amount.setText("20")
    dialog.amount_max.unit.setText("units")
    built = dialog.order()
    assert (built.dose, built.dose_max) == (Decimal(2), Decimal(4))
    assert (built.max_amount_24h, built.max_amount_unit) == (Decimal(20), "units")

    dialog.dose_max.setText("")
    dialog.scale_editor.add_row()
    dialog.scale_editor.set_row(0, "151", "200", "2")
    dialog.scale_editor.add_row()
    dialog.scale_editor.set_row(1, "201", "300", "4")
    built = dialog.order()
    assert [(r.glucose_min, r.glucose_max, r.dose) for r in built.sliding_scale] == [
        (151, 200, 2), (201, 300, 4)]

    reopened = OrderDialog(resident(), ZONE, NOW, None, replacing=built)
    assert reopened.scale_editor.rows() == built.sliding_scale
    assert reopened.amount_max.amount.text() == "20"
    dialog.deleteLater()
    reopened.deleteLater()


def test_a_scale_row_without_its_dose_and_a_maximum_without_its_unit_are_refused(
    qapp: QApplication,
) -> None:
    dialog = OrderDialog(resident(), ZONE, NOW, None)
    _filled(dialog)
    dialog.scale_editor.add_row()
    dialog.scale_editor.set_row(0, "151", "200", "")
    with pytest.raises(FieldError) as refused:
        dialog.order()
    assert refused.value.key == "sliding_scale" and "Row 1" in str(refused.value)
    dialog.scale_editor.table.removeRow(0)
    dialog.amount_max.amount.setText("3")
    with pytest.raises(FieldError) as refused:
        dialog.order()
    assert refused.value.key == "max_amount"
    plain = OrderDialog(resident(), ZONE, NOW, None, replacing=order())
    assert plain.order().uses_v3_fields is False  # a plain order stays plain
    dialog.deleteLater()
    plain.deleteLater()
