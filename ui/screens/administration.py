"""The administration flow for one dose: bedside scans, outcome, what the rules need, confirm.

A routine on-time oral dose with both scans takes two taps: "Given", then "Confirm". Scans go
into the focused scan field (keyboard wedge): the resident's own wristband confirms identity;
any other wristband is refused (``wrong_resident``); a medication scan must match the order and
be in date (``wrong_medication``, ``expired``) — a refused scan blocks recording and says why
until a correct scan replaces it. Fields appear only when needed: reason code (not given),
outside-window reason, PRN reason and pain score, vitals (hold parameters: a value outside the
limits switches the dose to Held), site, allergy acknowledgement, witness sign-in (Schedule II).

GUI thread; checks and the recording run on the worker. The service re-checks everything: the
UI only guides. Shows PHI: ``clear_phi()``. Emits ``recorded(str)`` and ``cancelled``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.clinical import rules
from mar_desktop.errors import MarError, RuleViolation, ValidationError
from mar_desktop.kinds import Vitals, WitnessAttestation
from mar_desktop.model import Outcome
from mar_desktop.permissions import Principal
from mar_desktop.services.recording import AdministrationRequest
from ui import theme
from ui.context import UiContext
from ui.errors import describe
from ui.screens.resident_mar import AdminTarget, hhmm, order_line, order_title
from ui.widgets.common import Banner, button, card, label
from ui.widgets.identity import allergy_text
from ui.widgets.scan import ScanField

OUTCOMES = (
    (Outcome.GIVEN, "✓ Given"),
    (Outcome.REFUSED, "✕ Refused"),
    (Outcome.HELD, "‖ Held"),
    (Outcome.NOT_AVAILABLE, "Unavailable"),
    (Outcome.AWAY, "Away"),
    (Outcome.OTHER, "Other"),
)
SITES = ("Left upper arm", "Right upper arm", "Abdomen – left", "Abdomen – right",
         "Left thigh", "Right thigh", "Left buttock", "Right buttock")


class AdministrationScreen(QWidget):
    recorded = Signal(str)
    cancelled = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._target: AdminTarget | None = None
        self._wristband = ""
        self._medication = ""
        self._blocked = False
        self._witness: WitnessAttestation | None = None
        self._allergy_matches: list[str] = []
        self._busy = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 14, 20, 10)
        layout.setSpacing(10)
        top = QHBoxLayout()
        top.addWidget(button("‹ Back", "", self._cancel, name="adminBack"))
        self.scan = ScanField("Scan the wristband and the medication")
        self.scan.setObjectName("adminScan")
        self.scan.scanned.connect(self.on_scan)
        top.addWidget(self.scan, 1)
        layout.addLayout(top)
        self.who = label("")
        self.who.setObjectName("adminResident")
        self.who.setStyleSheet("font-size: 20px; font-weight: bold;")
        layout.addWidget(self.who)
        self.allergy = label("", wrap=True)
        self.allergy.setObjectName("allergies")
        layout.addWidget(self.allergy)
        order_card, order_box = card()
        self.drug = label("", "title", wrap=True)
        self.drug.setObjectName("adminDrug")
        self.order_detail = label("", wrap=True)
        self.timing = label("", wrap=True)
        self.timing.setObjectName("adminTiming")
        for widget in (self.drug, self.order_detail, self.timing):
            order_box.addWidget(widget)
        checks = QHBoxLayout()
        self.identity_check = label("")
        self.identity_check.setObjectName("identityCheck")
        self.confirm_identity = button("Confirm identity by hand", "",
                                       self._identity_by_hand, name="identityByHand")
        self.medication_check = label("", wrap=True)  # lot and expiry: two lines in portrait
        self.medication_check.setObjectName("medicationCheck")
        self.confirm_medication = button("Medication checked by hand", "",
                                         self._medication_by_hand, name="medicationByHand")
        for widget in (self.identity_check, self.confirm_identity):
            checks.addWidget(widget)
        checks.addSpacing(24)
        for widget in (self.medication_check, self.confirm_medication):
            checks.addWidget(widget)
        checks.addStretch(1)
        order_box.addLayout(checks)
        layout.addWidget(order_card)
        self.banner = Banner()
        self.banner.setObjectName("adminBanner")
        layout.addWidget(self.banner)
        outcome_row = QGridLayout()  # one row; two rows on a portrait tablet (_place_outcomes)
        self._outcome_grid = outcome_row
        self._outcome_columns = 0
        self.outcomes = QButtonGroup(self)
        self.outcomes.setExclusive(True)
        self.outcome_buttons: dict[Outcome, Any] = {}
        for outcome, text in OUTCOMES:
            kind = "given" if outcome is Outcome.GIVEN else "outcome"
            choice = button(text, kind, checkable=True, name=f"outcome_{outcome.value}")
            choice.setMinimumHeight(60)
            self.outcomes.addButton(choice)
            self.outcome_buttons[outcome] = choice
        self.outcomes.buttonClicked.connect(lambda _b: self._outcome_changed())
        self._place_outcomes(len(OUTCOMES))
        layout.addLayout(outcome_row)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget()
        self.details = QFormLayout(holder)
        self.details.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.details.setVerticalSpacing(8)
        self.scroll.setWidget(holder)
        layout.addWidget(self.scroll, 1)
        self.confirm = button("Confirm", "primary", self.submit, name="confirmDose")
        self.confirm.setMinimumHeight(64)
        layout.addWidget(self.confirm)
        self._fields: dict[str, Any] = {}
        self.clear_phi()

    def _place_outcomes(self, columns: int) -> None:
        """The outcome buttons in ``columns`` columns ("Given" first and widest)."""
        if columns == self._outcome_columns:
            return
        self._outcome_columns = columns
        grid = self._outcome_grid
        for index, choice in enumerate(self.outcome_buttons.values()):
            grid.removeWidget(choice)
            grid.addWidget(choice, index // columns, index % columns)
        for col in range(len(OUTCOMES)):
            grid.setColumnStretch(col, (2 if col == 0 else 1) if col < columns else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._place_outcomes(len(OUTCOMES) if self.width() >= theme.NARROW_WIDTH else 3)
        super().resizeEvent(event)

    # ---- opening ------------------------------------------------------------------------------
    def begin(self, target: AdminTarget) -> None:
        self.clear_phi()
        self._target = target
        mar, order, zone = target.mar, target.state.order, target.facility.zone
        resident = mar.resident
        self.who.setText(
            f"{resident.display_name}  ·  Room {resident.room}  ·  Born "
            f"{resident.date_of_birth.strftime('%d %b %Y')}"
        )
        self.allergy.setText(f"⚠ {allergy_text(resident)}" if resident.allergies else
                             "No known allergies")
        self.allergy.setVisible(True)
        self.drug.setText(order_title(order))
        detail = order_line(order)
        if order.instructions:
            detail += f"\n{order.instructions}"
        self.order_detail.setText(detail)
        now = self._ctx.clock.now()
        if target.dose is not None:
            dose = target.dose
            inside = dose.window_start <= now <= dose.window_end
            window = f"{hhmm(dose.window_start, zone)}–{hhmm(dose.window_end, zone)}"
            self.timing.setText(
                f"Scheduled {hhmm(dose.scheduled_for, zone)} (window {window})  ·  "
                + ("✓ on time" if inside else "⚠ OUTSIDE the window: give a reason")
            )
            self._outside = not inside
        else:
            self._outside = False
            prn = target.prn
            when = "may be given now"
            if prn is not None and prn.next_allowed_at is not None:
                when = f"⚠ not before {hhmm(prn.next_allowed_at, zone)}"
            self.timing.setText(f"As needed (PRN)  ·  {when}")
        self._build_fields()
        self._update_checks()
        self.scan.setFocus()
        if target.wristband_scan or target.medication_scan:
            self._check_scans(target.wristband_scan, target.medication_scan)
        self._refresh_state()

    def _field(self, key: str, caption: str, widget: QWidget) -> None:
        widget.setObjectName(f"field_{key}")
        self._fields[key] = widget
        self.details.addRow(label(caption), widget)

    def _build_fields(self) -> None:
        target = self._target
        assert target is not None
        order = target.state.order
        reason = QComboBox()
        self._field("reason", "Reason", reason)
        if self._outside:
            self._field("outside", "Why outside the window", QLineEdit())
        if order.is_prn:
            self._field("prn_reason", "PRN reason", QLineEdit())
            pain = QComboBox()
            pain.addItem("not assessed", None)
            for score in range(11):
                pain.addItem(str(score), score)
            self._field("pain", "Pain score (0–10)", pain)
        for vital in dict.fromkeys(p.vital for p in order.hold_parameters):
            limits = [p for p in order.hold_parameters if p.vital == vital]
            text = ", ".join(
                (f"hold below {p.minimum}" if p.minimum is not None else "")
                + (" / " if p.minimum is not None and p.maximum is not None else "")
                + (f"hold above {p.maximum}" if p.maximum is not None else "")
                for p in limits
            )
            edit = QLineEdit()
            edit.setPlaceholderText(text)
            edit.textChanged.connect(lambda _t: self._vitals_changed())
            self._field(f"vital_{vital}", rules.VITAL_LABELS.get(vital, vital).capitalize(), edit)
        if order.site_required:
            site = QComboBox()
            site.setEditable(True)
            site.addItem("")
            site.addItems(SITES)
            self._field("site", "Site", site)
        dose = QLineEdit(f"{order.dose.normalize():f}")
        self._field("dose", f"Dose ({order.dose_unit})", dose)
        if order.needs_witness:
            box = QWidget()
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 0, 0)
            self.witness_state = label("✕ No witness yet")
            self.witness_state.setObjectName("witnessState")
            row.addWidget(self.witness_state, 1)
            row.addWidget(button("Witness sign-in…", "", self._ask_witness, name="witnessSignIn"))
            self._field("witness", "Witness", box)
        self._field("note", "Note (optional)", QLineEdit())
        self._set_reasons()

    # ---- scans --------------------------------------------------------------------------------
    def on_scan(self, text: str) -> None:
        target = self._target
        if target is None:
            return
        if text.strip() == target.mar.resident.wristband_id:
            self._check_scans(text, "")
        else:
            self._check_scans("", text)

    def _check_scans(self, wristband: str, medication: str) -> None:
        target = self._target
        assert target is not None
        resident, order, facility = target.mar.resident, target.state.order, target.facility

        def work(_p: Principal) -> tuple[str, str, list[str], str]:
            from mar_desktop.clinical import barcodes
            from mar_desktop.clinical.allergies import allergy_matches

            lot = ""
            if wristband:
                barcodes.check_wristband(wristband, resident)
            if medication:
                try:
                    scanned = barcodes.parse_scan(medication)
                except RuleViolation:
                    barcodes.check_wristband(medication, resident)  # a wristband, not ours
                    raise
                barcodes.check_medication_scan(
                    scanned, order, now=self._ctx.clock.now(), zone=facility.zone
                )
                lot = " · ".join(
                    x for x in (
                        f"lot {scanned.lot}" if scanned.lot else "",
                        f"exp {scanned.expiry.isoformat()}" if scanned.expiry else "",
                        *scanned.warnings,
                    ) if x
                )
            matches = [m.message for m in allergy_matches(resident, order)]
            return wristband, medication, matches, lot

        self._ctx.run(work, self._scans_ok, self._scan_refused)

    def _scans_ok(self, result: tuple[str, str, list[str], str]) -> None:
        wristband, medication, matches, lot = result
        if self._target is None:
            return
        if wristband:
            self._wristband = wristband
        if medication:
            self._medication = medication
            self._lot = lot
        self._allergy_matches = matches
        self._blocked = False
        self.banner.clear_message()
        if matches and "allergy" not in self._fields:
            ack = QCheckBox("I have checked the allergy warning and will give it")
            self._field("allergy", "⚠ Allergy", ack)
            self.banner.show_message("error", "; ".join(matches))
        self._update_checks()
        self._refresh_state()

    def _scan_refused(self, error: BaseException) -> None:
        text = describe(error)
        self._blocked = True
        self.banner.show_message("error", f"BLOCKED – {text.message} {text.hint}")
        self._refresh_state()

    def _identity_by_hand(self) -> None:
        self._identity_confirmed = True
        self._update_checks()
        self._refresh_state()

    def _medication_by_hand(self) -> None:
        self._medication_confirmed = True
        self._update_checks()
        self._refresh_state()

    def _update_checks(self) -> None:
        ident = bool(self._wristband) or getattr(self, "_identity_confirmed", False)
        med = bool(self._medication) or getattr(self, "_medication_confirmed", False)
        self.identity_check.setText(
            "✓ Wristband scanned" if self._wristband
            else ("✓ Identity confirmed by hand" if ident else "○ Scan the wristband")
        )
        self.confirm_identity.setVisible(not ident)
        lot = getattr(self, "_lot", "")
        self.medication_check.setText(
            (f"✓ Medication scanned {('· ' + lot) if lot else ''}") if self._medication
            else ("✓ Medication checked by hand" if med else "○ Scan the medication")
        )
        self.confirm_medication.setVisible(not med)

    # ---- outcome and fields -------------------------------------------------------------------
    def outcome(self) -> Outcome | None:
        for outcome, widget in self.outcome_buttons.items():
            if widget.isChecked():
                return outcome
        return None

    def _set_reasons(self) -> None:
        target = self._target
        combo = self._fields.get("reason")
        if target is None or combo is None:
            return
        outcome = self.outcome()
        combo.clear()
        if outcome is None or outcome is Outcome.GIVEN:
            combo.addItem("– not needed –", None)
        else:
            combo.addItem("Choose a reason…", None)
            for code in target.facility.settings.reason_codes:
                if not code.outcomes or outcome in code.outcomes:
                    combo.addItem(f"{code.code} – {code.label}", code.code)
        self.details.setRowVisible(combo, outcome not in (None, Outcome.GIVEN))

    def _outcome_changed(self) -> None:
        self._set_reasons()
        self._refresh_state()

    def _vitals(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for key, widget in self._fields.items():
            if key.startswith("vital_") and widget.text().strip():
                values[key.removeprefix("vital_")] = widget.text().strip()
        return values

    def _vitals_changed(self) -> None:
        target = self._target
        if target is None:
            return
        try:
            decision = rules.evaluate_hold_parameters(target.state.order, self._vitals())
        except (RuleViolation, ValidationError, InvalidOperation):
            self._hold = False
        else:
            self._hold = decision.hold
            if decision.hold:
                self.outcome_buttons[Outcome.HELD].setChecked(True)
                self._set_reasons()
                combo = self._fields["reason"]
                combo.setCurrentIndex(max(combo.findData("H"), 0))
                self.banner.show_message(
                    "warning", f"HOLD this dose: {decision.reason}. Recorded as Held."
                )
            elif not self._blocked:
                self.banner.clear_message()
        self._refresh_state()

    def _refresh_state(self) -> None:
        target = self._target
        outcome = self.outcome()
        hold = getattr(self, "_hold", False)
        given = self.outcome_buttons[Outcome.GIVEN]
        given.setEnabled(not self._blocked and not hold and self._ctx.principal() is not None)
        if hold and given.isChecked():
            self.outcome_buttons[Outcome.HELD].setChecked(True)
            outcome = Outcome.HELD
        ready = target is not None and outcome is not None and not self._busy
        if outcome is Outcome.GIVEN and self._blocked:
            ready = False
        self.confirm.setEnabled(ready)
        if target is None or outcome is None:
            self.confirm.setText("Choose what happened")
            return
        order = target.state.order
        word = dict(OUTCOMES)[outcome]
        self.confirm.setText(
            f"Confirm: {word} – {order.drug} {order.dose.normalize():f} {order.dose_unit} "
            f"{order.route}"
        )

    # ---- witness ------------------------------------------------------------------------------
    def _ask_witness(self) -> None:
        from ui.screens.dialogs import WitnessDialog

        target = self._target
        if target is None:
            return
        dialog = WitnessDialog(order_title(target.state.order), self)
        auth = self._ctx.backend.auth

        def submitted(values: dict[str, Any]) -> None:
            def ok(attestation: WitnessAttestation) -> None:
                self._witness = attestation
                self.witness_state.setText(
                    f"✓ {attestation.full_name} {attestation.credentials}".rstrip()
                    + f" signed at {hhmm(attestation.authenticated_at, target.facility.zone)}"
                )
                dialog.accept()

            handle = self._ctx.run(
                lambda p: auth.witness_sign_in(
                    p, values["username"], values["password"], values["code"]
                ),
                ok,
                dialog.fail,
            )
            if handle is None:
                dialog.reject()

        dialog.submitted.connect(submitted)
        dialog.open()

    # ---- confirm ------------------------------------------------------------------------------
    def request(self) -> AdministrationRequest:
        """The request from what is on screen. Raises ValidationError for unreadable input."""
        target = self._target
        outcome = self.outcome()
        assert target is not None
        assert outcome is not None
        fields = self._fields

        def text(key: str) -> str:
            widget = fields.get(key)
            if widget is None:
                return ""
            return widget.currentText() if isinstance(widget, QComboBox) else widget.text()

        try:
            dose = Decimal(text("dose").strip()) if text("dose").strip() else None
            vitals = Vitals.model_validate(self._vitals())
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError("Check the dose and vitals: enter numbers only.") from exc
        pain = fields["pain"].currentData() if "pain" in fields else None
        ack = fields.get("allergy")
        return AdministrationRequest(
            resident_id=target.mar.resident.resident_id,
            order_id=target.state.order_id,
            outcome=outcome,
            scheduled_for=target.dose.scheduled_for if target.dose else None,
            wristband_scan=self._wristband or None,
            identity_confirmed=getattr(self, "_identity_confirmed", False),
            medication_scan=self._medication or None,
            medication_confirmed=getattr(self, "_medication_confirmed", False),
            reason_code=fields["reason"].currentData(),
            dose_given=dose,
            site=text("site"),
            vitals=vitals,
            prn_reason=text("prn_reason"),
            pain_score=pain,
            outside_window_reason=text("outside"),
            witness=self._witness,
            allergy_acknowledged=bool(ack is not None and ack.isChecked()),
            note=text("note"),
        )

    def submit(self) -> None:
        target = self._target
        if target is None or self.outcome() is None or self._busy:
            return
        try:
            request = self.request()
        except MarError as error:
            self.banner.show_message("error", describe(error).full())
            return
        recording = self._ctx.backend.recording
        word = dict(OUTCOMES)[request.outcome]
        summary = f"Recorded: {word} – {order_title(target.state.order)}"
        self._busy = True
        self._refresh_state()

        def ok(_entry: object) -> None:
            self._busy = False
            self.clear_phi()
            self.recorded.emit(summary)

        handle = self._ctx.run(
            lambda p: recording.record_administration(p, request), ok, self._record_refused
        )
        if handle is None:
            self._busy = False

    def _record_refused(self, error: BaseException) -> None:
        self._busy = False
        text = describe(error)
        if text.code == "outside_window" and "outside" not in self._fields:
            self._outside = True
            self._field("outside", "Why outside the window", QLineEdit())
        if text.code == "allergy_unacknowledged" and "allergy" not in self._fields:
            self._field("allergy", "⚠ Allergy",
                        QCheckBox("I have checked the allergy warning and will give it"))
        self.banner.show_message("error", text.full())
        self._refresh_state()

    def _cancel(self) -> None:
        self.clear_phi()
        self.cancelled.emit()

    def clear_phi(self) -> None:
        self._target = None
        self._wristband = self._medication = self._lot = ""
        self._identity_confirmed = self._medication_confirmed = False
        self._witness = None
        self._blocked = self._hold = self._busy = self._outside = False
        self._allergy_matches = []
        for widget in (self.who, self.allergy, self.drug, self.order_detail, self.timing,
                       self.identity_check, self.medication_check):
            widget.clear()
        self.banner.clear_message()
        self.scan.clear()
        self.outcomes.setExclusive(False)
        for widget in self.outcome_buttons.values():
            widget.setChecked(False)
        self.outcomes.setExclusive(True)
        self._fields = {}
        while self.details.rowCount():
            self.details.removeRow(0)
        self._refresh_state()

