"""Admit / edit a resident (name, date of birth, room, wristband, unit, allergies) and transfer
one. ``submitted`` carries the :class:`~mar_desktop.model.Resident` (or the transfer values).
GUI thread only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLineEdit,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.envelope import new_id
from mar_desktop.model import Allergy, Resident, Unit
from ui.admin.base import cell_text, table
from ui.admin.forms import AdminForm, FieldError, date_of, text_of
from ui.admin.photos import PhotoPicker
from ui.widgets.common import button, label

SEVERITIES = ("unknown", "mild", "moderate", "severe")


class AllergyEditor(QWidget):
    """Rows of substance, reaction and severity; blank rows are ignored."""

    def __init__(self, allergies: Sequence[Allergy] = ()) -> None:
        super().__init__()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.table = table(("Substance", "Reaction", "Severity"), "allergyTable")
        self.table.setEditTriggers(self.table.editTriggers().AllEditTriggers)
        self.table.setMinimumHeight(170)
        column.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(button("+ Add allergy", "", self.add_row, name="addAllergy"))
        row.addWidget(button("– Remove selected", "danger", self.remove_row))
        row.addStretch(1)
        column.addLayout(row)
        for allergy in allergies:
            self.add_row(allergy.substance, allergy.reaction, allergy.severity)

    def add_row(self, substance: str = "", reaction: str = "", severity: str = "unknown") -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(substance))
        self.table.setItem(row, 1, QTableWidgetItem(reaction))
        combo = QComboBox()
        for value in SEVERITIES:
            combo.addItem(value.capitalize(), value)
        combo.setCurrentIndex(max(0, combo.findData(severity)))
        self.table.setCellWidget(row, 2, combo)
        self.table.setColumnWidth(0, 220)
        self.table.setColumnWidth(1, 260)

    def remove_row(self) -> None:
        if self.table.currentRow() >= 0:
            self.table.removeRow(self.table.currentRow())

    def allergies(self) -> tuple[Allergy, ...]:
        found = []
        for row in range(self.table.rowCount()):
            cells = [cell_text(self.table, row, c).strip() for c in (0, 1)]
            combo = self.table.cellWidget(row, 2)
            severity = combo.currentData() if isinstance(combo, QComboBox) else "unknown"
            if not cells[0]:
                if cells[1]:
                    raise FieldError("allergies", f"Row {row + 1}: name the substance.")
                continue
            found.append(Allergy(substance=cells[0], reaction=cells[1], severity=severity))
        return tuple(found)


def _date_edit(value: date | None) -> QDateEdit:
    edit = QDateEdit()
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setCalendarPopup(True)
    edit.setMinimumDate(QDate(1890, 1, 1))
    edit.setMaximumDate(QDate.currentDate())
    when = value or date(1940, 1, 1)
    edit.setDate(QDate(when.year, when.month, when.day))
    return edit


class ResidentDialog(AdminForm):
    """Admit (``resident`` None) or edit details (unit fixed: use a transfer)."""

    def __init__(self, units: Sequence[Unit], parent: QWidget | None,
                 resident: Resident | None = None) -> None:
        editing = resident is not None
        super().__init__(
            "Edit resident" if editing else "Admit a resident",
            "Check the name and date of birth against the admission papers; the wristband id "
            "is what the bedside scanner reads.",
            "Save changes" if editing else "Admit resident", parent, wide=True)
        self.resident = resident
        self.given = QLineEdit(resident.given_name if resident else "")
        self.add("given_name", "Given name", self.given)
        self.family = QLineEdit(resident.family_name if resident else "")
        self.add("family_name", "Family name", self.family)
        self.born = _date_edit(resident.date_of_birth if resident else None)
        self.add("date_of_birth", "Date of birth", self.born)
        self.room = QLineEdit(resident.room if resident else "")
        self.add("room", "Room", self.room, column=1)
        self.wristband = QLineEdit(resident.wristband_id if resident else "")
        self.add("wristband_id", "Wristband id (scan it here)", self.wristband, column=1)
        self.unit = QComboBox()
        for unit in units:
            self.unit.addItem(unit.name, unit.unit_id)
        if resident is not None:
            self.unit.setCurrentIndex(max(0, self.unit.findData(resident.unit_id)))
            self.unit.setEnabled(False)
            self.unit.setToolTip("Use Transfer to move the resident to another unit.")
        self.add("unit_id", "Unit" + (" (change it with Transfer)" if editing else ""),
                 self.unit, column=1)
        self.allergy_editor = AllergyEditor(resident.allergies if resident else ())
        self.add("allergies", "Allergies (reaction and severity)", self.allergy_editor,
                 span=True)
        self.photo = PhotoPicker(resident)
        self.add("photo_png_b64", "Photo (optional)", self.photo, span=True)
        self.form.aliases = {"allergies": "allergies"}

    def build(self) -> Resident:
        data: dict[str, object] = (
            self.resident.model_dump() if self.resident else {"resident_id": new_id()}
        )
        data.update(
            given_name=text_of(self.given),
            family_name=text_of(self.family),
            date_of_birth=date_of(self.born.date()),
            room=text_of(self.room),
            wristband_id=text_of(self.wristband),
            unit_id=self.unit.currentData() or "",
            allergies=self.allergy_editor.allergies(),
            photo_png_b64=self.photo.photo(),
        )
        if not data["unit_id"]:
            raise FieldError("unit_id", "Create a unit first.")
        return Resident.model_validate(data)


class TransferDialog(AdminForm):
    def __init__(self, resident: Resident, units: Sequence[Unit], parent: QWidget | None) -> None:
        super().__init__(f"Transfer: {resident.display_name}",
                         "Moves the resident to another unit and room. Staff assigned to the "
                         "new unit see the resident from now on.", "Transfer", parent)
        self.unit = QComboBox()
        for unit in units:
            self.unit.addItem(unit.name, unit.unit_id)
        self.unit.setCurrentIndex(max(0, self.unit.findData(resident.unit_id)))
        self.add("unit_id", "New unit", self.unit, span=True)
        self.room = QLineEdit(resident.room)
        self.add("room", "New room", self.room, span=True)
        self.fields.addWidget(label("", "muted"))

    def build(self) -> dict[str, str]:
        room = text_of(self.room)
        if not room:
            raise FieldError("room", "Required: please fill this in.")
        return {"unit_id": str(self.unit.currentData()), "room": room}
