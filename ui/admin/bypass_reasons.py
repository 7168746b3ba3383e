"""The facility's list of reasons for confirming a scan by hand (``FacilitySettings.
scan_bypass_reasons``), as an editable table on the settings screen: code, the words nurses
tap, and which scans each explains ("wristband", "medication" or both).

GUI thread only; holds no PHI. :meth:`BypassReasonsCard.read` checks what is typed and raises
:class:`~ui.admin.forms.FieldError` (key ``scan_bypass_reasons``) in plain words; the settings
model checks it again when saved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtWidgets import QHBoxLayout, QTableWidgetItem, QVBoxLayout, QWidget

from mar_desktop.model import ScanBypassReason
from ui.admin.base import cell_text, fit_columns, table
from ui.admin.forms import FieldError
from ui.widgets.common import button, card, label

KEY = "scan_bypass_reasons"
COLUMNS = ("Code", "What the nurse taps", "For scans: wristband, medication")
SCANS = ("wristband", "medication")
_CODE = re.compile(r"^[a-z0-9_]{1,32}$")


class BypassReasonsCard(QWidget):
    """A card with the table, add/remove buttons and the error line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame, box = card()
        box.addWidget(label("Reasons for not scanning", "section"))
        box.addWidget(label("Offered as one-tap choices when a nurse confirms the wristband or "
                            "the medication by hand; no other reason is accepted. Keep at least "
                            "one for each scan.", "muted", wrap=True))
        self.table = table(COLUMNS, "bypassReasons")
        self.table.setEditTriggers(self.table.editTriggers().AllEditTriggers)
        self.table.setMinimumHeight(320)
        self.fitter = fit_columns(self.table)
        self.table.itemChanged.connect(lambda _item: self.fitter.fit())
        box.addWidget(self.table, 1)
        self.error = label("", "", wrap=True)
        self.error.setObjectName("error_scan_bypass_reasons")
        self.error.setStyleSheet("color: #7a0016; font-weight: bold; font-size: 16px;")
        self.error.hide()
        box.addWidget(self.error)
        row = QHBoxLayout()
        row.addWidget(button("+ Add reason", "", self.add_reason, name="addBypassReason"))
        row.addWidget(button("– Remove selected", "danger", self.remove_reason,
                             name="removeBypassReason"))
        row.addStretch(1)
        box.addLayout(row)
        outer.addWidget(frame)

    def show_reasons(self, reasons: Sequence[ScanBypassReason]) -> None:
        self.error.hide()
        self.table.setRowCount(0)
        for reason in reasons:
            self._append(reason.code, reason.label, ", ".join(reason.applies_to))
        self.fitter.fit()

    def show_error(self, message: str) -> None:
        self.error.setText(f"✕ {message}")
        self.error.show()

    def _append(self, code: str, words: str, scans: str) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, value in enumerate((code, words, scans)):
            self.table.setItem(row, col, QTableWidgetItem(value))

    def add_reason(self) -> None:
        self._append("", "", "wristband, medication")
        row = self.table.rowCount() - 1
        self.table.setCurrentCell(row, 0)
        item = self.table.item(row, 0)
        if item is not None:
            self.table.editItem(item)

    def remove_reason(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)

    def read(self) -> tuple[ScanBypassReason, ...]:
        """The reasons typed, in order; empty rows skipped. Raises FieldError (``KEY``)."""
        found: list[ScanBypassReason] = []
        for row in range(self.table.rowCount()):
            code, words, scans = (cell_text(self.table, row, c).strip() for c in range(3))
            if not (code or words or scans):
                continue
            if not _CODE.match(code):
                raise FieldError(KEY, f"Row {row + 1}: the code is 1–32 lower-case letters, "
                                 "digits or _.")
            if not words:
                raise FieldError(KEY, f"Row {row + 1}: say what the nurse taps.")
            targets = [w.strip().lower() for w in scans.split(",") if w.strip()]
            if not targets or any(t not in SCANS for t in targets):
                raise FieldError(KEY, f"Row {row + 1}: for scans: wristband, medication or "
                                 "both.")
            found.append(ScanBypassReason(code=code, label=words,
                                          applies_to=tuple(t for t in SCANS if t in targets)))
        codes = [r.code for r in found]
        if len(set(codes)) != len(codes):
            raise FieldError(KEY, "Each code may be listed only once.")
        for scan in SCANS:
            if not any(scan in r.applies_to for r in found):
                raise FieldError(KEY, f"Keep at least one reason for the {scan} scan.")
        return tuple(found)
