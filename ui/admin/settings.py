"""Facility settings (facility admins; a director of nursing changes the clinical ones, the
security ones greyed): dose windows, late/missed, inactivity lock,
re-authentication, password length, PRN follow-up, emergency access, order verification of
hand-entered orders (:mod:`ui.admin.verification_setting`), the reason codes and the reasons
for not scanning (:mod:`ui.admin.bypass_reasons`).

Loads the facility on the worker, edits a copy here, and saves through
``ReferenceService.change_settings`` (which checks ``manage_settings`` and records the change
with before/after values in the ledger and the audit log). Values outside the allowed ranges
are shown next to their field in plain words. GUI thread only; holds no PHI.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.model import Facility, FacilitySettings, Outcome, ReasonCode
from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.reference import SECURITY_SETTINGS
from ui.admin.base import AdminScreen, cell_text, fit_columns, table
from ui.admin.bypass_reasons import KEY as BYPASS_KEY
from ui.admin.bypass_reasons import BypassReasonsCard
from ui.admin.forms import FieldError, FieldGrid, banner_text
from ui.admin.verification_setting import VerificationSettingCard
from ui.backend import AdminServices
from ui.context import UiContext
from ui.touch import kinetic
from ui.widgets.common import button, card, label

# (field, caption, unit) in screen order; the column is 0 for the first five.
NUMBERS: tuple[tuple[str, str, str], ...] = (
    ("window_time_critical_minutes", "Window for time-critical doses (±)", "minutes"),
    ("window_frequent_minutes", "Window for doses more often than daily (±)", "minutes"),
    ("window_daily_minutes", "Window for daily or less frequent doses (±)", "minutes"),
    ("missed_after_minutes", "A late dose counts as missed after", "minutes"),
    ("prn_followup_minutes", "PRN effectiveness follow-up due after", "minutes"),
    ("inactivity_lock_seconds", "Lock the screen after inactivity of", "seconds"),
    ("reauth_hours", "Ask for password + code again every", "hours"),
    ("password_min_length", "Minimum password length", "characters"),
    ("emergency_access_minutes", "Emergency access lasts", "minutes"),
)
OUTCOME_WORDS = {o.value: o for o in Outcome}
CODE_COLUMNS = ("Code", "Meaning", "For outcomes (empty: any)")


def load_facility(principal: Principal, services: AdminServices) -> Facility:
    return services.reads.facility_settings(principal)


class SettingsScreen(AdminScreen):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Facility settings",
                         "These apply on every tablet of the facility once synced. Each change "
                         "is recorded with the old and new values.", parent)
        self.save_button = button("✓ Save settings", "primary", self.save, name="saveSettings")
        self.head.insertWidget(2, self.save_button)
        self.facility: Facility | None = None
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        kinetic(scroll)
        holder = QWidget()
        columns = QVBoxLayout(holder)
        columns.setContentsMargins(0, 0, 8, 0)
        columns.setSpacing(16)
        frame, box = card()
        box.addWidget(label("Times and security", "section"))
        self.form = FieldGrid()
        self.inputs: dict[str, QLineEdit] = {}
        for index, (key, caption, unit) in enumerate(NUMBERS):
            field = QLineEdit()
            field.setPlaceholderText(unit)
            field.setMaximumWidth(420)
            self.inputs[key] = field
            self.form.add(key, f"{caption} ({unit})", field, column=0 if index < 5 else 1)
        box.addWidget(self.form)
        self.security_note = label("Greyed: security settings, changed by a facility admin.",
                                   "muted", wrap=True)
        self.security_note.hide()
        box.addWidget(self.security_note)
        box.addStretch(1)
        columns.addWidget(frame)
        self.verification = VerificationSettingCard(self)
        columns.addWidget(self.verification)
        codes_frame, codes = card()
        codes.addWidget(label("Reason codes", "section"))
        codes.addWidget(label("Shown to nurses for refused, held and not-given doses, and "
                              "printed on MAR sheets. Outcomes: " + ", ".join(OUTCOME_WORDS)
                              + ".", "muted", wrap=True))
        self.codes = table(CODE_COLUMNS, "reasonCodes")
        self.codes.setEditTriggers(self.codes.editTriggers().AllEditTriggers)
        self.codes.setMinimumHeight(380)
        self.code_fitter = fit_columns(self.codes)
        self.codes.itemChanged.connect(lambda _item: self.code_fitter.fit())
        codes.addWidget(self.codes, 1)
        self.code_error = label("", "", wrap=True)
        self.code_error.setObjectName("error_reason_codes")
        self.code_error.setStyleSheet("color: #7a0016; font-weight: bold; font-size: 16px;")
        self.code_error.hide()
        codes.addWidget(self.code_error)
        row = QHBoxLayout()
        row.addWidget(button("+ Add code", "", self.add_code, name="addCode"))
        row.addWidget(button("– Remove selected", "danger", self.remove_code, name="removeCode"))
        row.addStretch(1)
        codes.addLayout(row)
        columns.addWidget(codes_frame)
        self.bypass = BypassReasonsCard()
        columns.addWidget(self.bypass)
        scroll.setWidget(holder)
        self.outer.addWidget(scroll, 1)

    # ---- data ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.run(load_facility, self._loaded)
        self.verification.refresh()

    def _loaded(self, facility: Facility) -> None:
        self.facility = facility
        self.show_settings(facility.settings)

    def show_settings(self, settings: FacilitySettings) -> None:
        self.form.clear_errors()
        self.code_error.hide()
        security = self.ctx.may(Permission.MANAGE_SETTINGS)  # else the clinical ones only
        for key, field in self.inputs.items():
            field.setText(str(getattr(settings, key)))
            field.setEnabled(security or key not in SECURITY_SETTINGS)
        self.security_note.setVisible(not security)
        self.codes.setRowCount(0)
        for code in settings.reason_codes:
            self._append_code(code.code, code.label, ", ".join(o.value for o in code.outcomes))
        self.code_fitter.fit()
        self.bypass.show_reasons(settings.scan_bypass_reasons)

    def _append_code(self, code: str, text: str, outcomes: str) -> None:
        row = self.codes.rowCount()
        self.codes.insertRow(row)
        for col, value in enumerate((code, text, outcomes)):
            self.codes.setItem(row, col, QTableWidgetItem(value))

    def add_code(self) -> None:
        self._append_code("", "", "")
        row = self.codes.rowCount() - 1
        self.codes.setCurrentCell(row, 0)
        item = self.codes.item(row, 0)
        if item is not None:  # _append_code gave every cell an item
            self.codes.editItem(item)

    def remove_code(self) -> None:
        row = self.codes.currentRow()
        if row >= 0:
            self.codes.removeRow(row)

    # ---- saving ---------------------------------------------------------------------------
    def read_codes(self) -> tuple[ReasonCode, ...]:
        found = []
        for row in range(self.codes.rowCount()):
            cells = [cell_text(self.codes, row, c).strip() for c in range(3)]
            if not any(cells):
                continue
            words = [w.strip().lower().replace(" ", "_") for w in cells[2].split(",")]
            unknown = [w for w in words if w and w not in OUTCOME_WORDS]
            if unknown:
                raise FieldError("reason_codes", f"Row {row + 1}: unknown outcome "
                                 f"'{unknown[0]}'. Use: {', '.join(OUTCOME_WORDS)}.")
            if not cells[0] or not cells[1]:
                raise FieldError("reason_codes", f"Row {row + 1}: a code needs both the code "
                                 "and its meaning.")
            if len(cells[0]) > 16:
                raise FieldError("reason_codes", f"Row {row + 1}: the code is longer than 16 "
                                 "characters.")
            found.append(ReasonCode(code=cells[0], label=cells[1],
                                    outcomes=tuple(OUTCOME_WORDS[w] for w in words if w)))
        codes = [c.code for c in found]
        if len(set(codes)) != len(codes):
            raise FieldError("reason_codes", "Each code may be listed only once.")
        if not found:
            raise FieldError("reason_codes", "Keep at least one reason code.")
        return tuple(found)

    def build(self) -> FacilitySettings:
        if self.facility is None:
            raise FieldError("", "The settings are still loading.")
        values: dict[str, object] = self.facility.settings.model_dump()
        for key, field in self.inputs.items():
            text = field.text().strip()
            if not text.isdigit():
                raise FieldError(key, "Enter a whole number.")
            values[key] = int(text)
        values["reason_codes"] = self.read_codes()
        values[BYPASS_KEY] = self.bypass.read()
        return FacilitySettings.model_validate(values)

    def save(self) -> None:
        import pydantic

        self.banner.clear_message()
        self.form.clear_errors()
        self.code_error.hide()
        self.bypass.error.hide()
        try:
            settings = self.build()
        except FieldError as bad:
            if bad.key == BYPASS_KEY:
                self.bypass.show_error(bad.message)
                self.banner.show_message("error", "Check the reasons for not scanning.")
            elif bad.key == "reason_codes":
                self.code_error.setText(f"✕ {bad.message}")
                self.code_error.show()
                self.banner.show_message("error", "Check the reason codes.")
            else:
                self.banner.show_message("error", banner_text(self.form.place(bad)))
            return
        except pydantic.ValidationError as bad:
            self.banner.show_message("error", banner_text(self.form.place(bad)))
            return
        if self.facility is not None and settings == self.facility.settings:
            self.banner.show_message("info", "Nothing changed.")
            return
        self.save_button.setEnabled(False)

        def work(principal: Principal, services: AdminServices) -> Facility:
            services.reference.change_settings(principal, settings)
            return load_facility(principal, services)

        def saved(facility: Facility) -> None:
            self.save_button.setEnabled(True)
            self.ctx.backend.sessions.update_settings(facility.settings)  # lock time at once
            self._loaded(facility)
            self.banner.show_message("ok", "Settings saved. Tablets pick them up when they "
                                     "next sync.")

        def failed(error: BaseException) -> None:
            self.save_button.setEnabled(True)
            self.show_error(error)

        self.run(work, saved, failed)
