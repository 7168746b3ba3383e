"""The order form's dose forms: a sliding scale table (glucose from–to → dose) and the 24-hour
amount maximum of an ingredient (amount, unit, ingredient). The order form
(:mod:`ui.admin.order_dialog`) places them and reads them into the
:class:`~mar_desktop.model.Order`; the model checks the rest (rows that overlap, a maximum
without its unit). GUI thread only; nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QTableWidgetItem, QVBoxLayout, QWidget

from mar_desktop.model import Order, SlidingScaleRow
from ui.admin.base import cell_text, set_cell_text, table
from ui.admin.forms import FieldError, decimal_of
from ui.widgets.common import button


class ScaleEditor(QWidget):
    """Sliding scale rows: a glucose (mg/dL) from and to, both included, and the dose (in the
    order's unit; 0: none at that glucose). No rows: not a sliding scale."""

    def __init__(self, rows: Sequence[SlidingScaleRow] = ()) -> None:
        super().__init__()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.table = table(("Glucose from", "Glucose to", "Dose"), "scaleTable")
        self.table.setEditTriggers(self.table.editTriggers().AllEditTriggers)
        self.table.setMinimumHeight(150)
        column.addWidget(self.table)
        line = QHBoxLayout()
        line.addWidget(button("+ Add scale row", "", self.add_row, name="addScaleRow"))
        line.addWidget(button("– Remove selected", "danger", self.remove_row))
        line.addStretch(1)
        column.addLayout(line)
        for row in rows:
            self.add_row(row.glucose_min, row.glucose_max, row.dose)

    def add_row(self, low: object = None, high: object = None, dose: object = None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, value in enumerate((low, high, dose)):
            self.table.setItem(row, col, QTableWidgetItem("" if value is None else str(value)))

    def set_row(self, row: int, low: str, high: str, dose: str) -> None:
        """Fills ``row`` (tests use it like a person would)."""
        for col, text in enumerate((low, high, dose)):
            set_cell_text(self.table, row, col, text)

    def remove_row(self) -> None:
        if self.table.currentRow() >= 0:
            self.table.removeRow(self.table.currentRow())

    def rows(self) -> tuple[SlidingScaleRow, ...]:
        """The rows as entered. Raises FieldError ("sliding_scale") naming the row."""
        found = []
        for row in range(self.table.rowCount()):
            values = [
                decimal_of("sliding_scale", cell_text(self.table, row, c), required=False)
                for c in range(3)
            ]
            low, high, dose = values
            if low is None or high is None or dose is None:
                raise FieldError("sliding_scale", f"Row {row + 1}: give the glucose from, to "
                                 "and the dose (or remove the row).")
            if high < low or dose < 0:
                raise FieldError("sliding_scale", f"Row {row + 1}: the glucose 'to' must not be "
                                 "below 'from', and the dose not negative.")
            found.append(SlidingScaleRow(glucose_min=low, glucose_max=high, dose=dose))
        return tuple(found)


class AmountMaxRow(QWidget):
    """The 24-hour maximum of an ingredient across all the resident's orders: the amount, its
    unit and the ingredient (blank: the drug name)."""

    def __init__(self, base: Order | None) -> None:
        super().__init__()
        line = QHBoxLayout(self)
        line.setContentsMargins(0, 0, 0, 0)
        has = base is not None and base.max_amount_24h is not None
        self.amount = QLineEdit(str(base.max_amount_24h) if has and base else "")
        self.amount.setPlaceholderText("e.g. 3")
        self.unit = QLineEdit(base.max_amount_unit if base else "")
        self.unit.setPlaceholderText("g, mg…")
        self.ingredient = QLineEdit(base.ingredient if base else "")
        self.ingredient.setPlaceholderText("ingredient (blank: the drug)")
        for widget, name in ((self.amount, "maxAmount"), (self.unit, "maxAmountUnit"),
                             (self.ingredient, "maxIngredient")):
            widget.setObjectName(name)
            widget.setMinimumHeight(48)
            line.addWidget(widget, 1)

    def values(self) -> dict[str, object]:
        """The order fields. Raises FieldError ("max_amount")."""
        amount: Decimal | None = decimal_of("max_amount", self.amount.text(), required=False)
        unit = self.unit.text().strip()
        if (amount is None) != (not unit):
            raise FieldError("max_amount", "Give both the amount and its unit, or neither.")
        return {
            "max_amount_24h": amount,
            "max_amount_unit": unit,
            "ingredient": self.ingredient.text().strip(),
        }
