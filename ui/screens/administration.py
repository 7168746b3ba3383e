"""The administration flow for one dose: bedside scans, outcome, what the rules need, confirm.

A routine on-time oral dose with both scans takes two taps: "Given", then "Confirm"; a PRN
three or four: "Given", a reason, the pain score if assessed, "Confirm". Scans go
into the focused scan field (keyboard wedge): the resident's own wristband confirms identity;
any other wristband is refused (``wrong_resident``); a medication scan must match the order and
be in date (``wrong_medication``, ``expired``) — a refused scan blocks recording and says why
until a correct scan replaces it. Fields appear only when needed: reason code (not given),
outside-window reason, PRN reason and pain score, vitals (hold parameters: a value outside the
limits switches the dose to Held), site, allergy acknowledgement, witness sign-in (Schedule II).

Here: the screen and its flow (worker calls, what is enabled, messages). Who, what, when and
the scan checks are in :mod:`ui.screens.administration_bedside`, the outcome and the fields in
:mod:`ui.screens.administration_form`.

A lock keeps the dose in progress for the same user: :meth:`AdministrationScreen.keep` takes
it out of the widgets as a :class:`KeptDose` (in memory, with the main window) before
``clear_phi()`` empties them, and :meth:`AdministrationScreen.restore` puts it back after the
unlock. A wristband scan counts only while ``ctx.wristbands`` holds it (:mod:`ui.wristbands`).

A refusal about something typed or chosen is shown under that field (:data:`FIELD_OF_CODE`),
anything else in the banner. After the entry is stored, ``recorded(SignedDose)`` carries what
it holds, in words, for the MAR's confirmation.

GUI thread; checks and the recording run on the worker. The service re-checks everything: the
UI only guides. Shows PHI: ``clear_phi()``. Emits ``recorded(SignedDose)`` and ``cancelled``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import QLocale, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mar_desktop.clinical.dose import amount_text, check_dose, check_partial, describe_dose
from mar_desktop.clinical.witness import WitnessRequest, WitnessSignIn
from mar_desktop.envelope import Entry
from mar_desktop.errors import MarError, RuleViolation, ValidationError
from mar_desktop.kinds import Vitals, WitnessAttestation
from mar_desktop.model import Order, Outcome
from mar_desktop.permissions import Principal
from mar_desktop.services.recording import AdministrationRequest
from ui import theme
from ui.context import UiContext
from ui.errors import describe
from ui.screens.administration_bedside import BedsidePanel, ScanCheck, check_scans
from ui.screens.administration_form import OUTCOMES, DoseForm
from ui.screens.mar_words import signed_dose, vital_name
from ui.screens.resident_mar import AdminTarget, hhmm, order_title
from ui.widgets.common import Banner, button, set_wrapped_text
from ui.widgets.scan import ScanField


@dataclass(frozen=True)
class KeptDose:
    """A dose in progress taken out of the screen at a lock: whose it is, what it is for, the
    checks done, the outcome and every entry, the witness, the message on show. Holds PHI: only
    in memory, only until the same user unlocks or someone signs out."""

    user_id: str
    target: AdminTarget
    wristband: str
    medication: str
    lot: str
    identity_confirmed: bool
    medication_confirmed: bool
    outcome: Outcome | None
    entries: dict[str, str | int | bool]
    witness: WitnessAttestation | None
    witness_text: str
    blocked: bool
    message: tuple[str, str] | None
    witness_entry_id: str | None = None


WRISTBAND_EXPIRED = "The wristband scan is more than 10 minutes old: scan the wristband again."
FIELD_OF_CODE = {  # a refusal's code -> the field its message goes under
    "prn_reason": "prn_reason",
    "outside_window": "outside",
    "reason_required": "reason",
    "reason_invalid": "reason",
    "site_required": "site",
    "allergy_unacknowledged": "allergy",
    "witness_required": "witness",
    "witness_same_person": "witness",
    "witness_unlicensed": "witness",
    "witness_inactive": "witness",
    "witness_stale": "witness",
    "witness_missing": "witness",
    "witness_other_device": "witness",
    "witness_other_dose": "witness",
    "witness_other_giver": "witness",
    "witness_signature": "witness",
    "witness_used": "witness",
}


CONFIRM_HEIGHT = 64  # the confirm button at least: the last tap of a dose


class AdministrationScreen(QWidget):
    recorded = Signal(object)  # SignedDose
    cancelled = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._target: AdminTarget | None = None
        self._blocked = False
        self._witness: WitnessAttestation | None = None
        self._witness_entry_id: str | None = None  # the witness.attested entry of the sign-in
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
        self.bedside = BedsidePanel()
        self.bedside.changed.connect(self._refresh_state)
        self.bedside.bypassed.connect(self._ask_bypass_reason)
        layout.addWidget(self.bedside)
        self.banner = Banner()
        self.banner.setObjectName("adminBanner")
        layout.addWidget(self.banner)
        self.form = DoseForm()
        self.form.outcome_changed.connect(self._refresh_state)
        self.form.vitals_edited.connect(self._vitals_changed)
        self.form.witness_requested.connect(self._ask_witness)
        self.form.dose_edited.connect(self._refresh_state)
        layout.addWidget(self.form, 1)
        self.confirm = button("Confirm", "primary", self.submit, name="confirmDose")
        self.confirm.setMinimumHeight(CONFIRM_HEIGHT)
        self._confirm_words = "Confirm"  # what the button says, wrapped to its width
        layout.addWidget(self.confirm)
        self.clear_phi()

    @property
    def _fields(self) -> dict[str, Any]:
        """The form's inputs by key (tests and the bench fill them in directly)."""
        return self.form.fields

    @property
    def witness_state(self) -> QLabel:
        """Who has signed as witness; only after :meth:`begin` for an order needing one."""
        return self.form.witness_state

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.form.place_outcomes(len(OUTCOMES) if self.width() >= theme.NARROW_WIDTH else 3)
        super().resizeEvent(event)
        self._say_confirm(self._confirm_words)

    def _say_confirm(self, words: str) -> None:
        """The confirm button's words, every one shown: what is signed, in as many lines as
        the button's width needs (a portrait tablet)."""
        self._confirm_words = words
        set_wrapped_text(self.confirm, words, CONFIRM_HEIGHT)

    # ---- opening ------------------------------------------------------------------------------
    def begin(self, target: AdminTarget) -> None:
        self.clear_phi()
        self._target = target
        outside = self.bedside.show_target(target, self._ctx.clock.now())
        self.form.build(target.state.order, target.facility.settings.reason_codes,
                        outside=outside, prn_reasons=target.prn_reasons,
                        bypass_reasons=target.facility.settings.scan_bypass_reasons)
        self.bedside.show_state()
        self.scan.setFocus()
        if target.wristband_scan or target.medication_scan:
            self._check_scans(target.wristband_scan, target.medication_scan)
        self._refresh_state()

    # ---- scans --------------------------------------------------------------------------------
    def on_scan(self, text: str) -> None:
        target = self._target
        if target is None:
            return
        if text.strip() == target.mar.resident.wristband_id:
            self._check_scans(text, "", scanned=True)
        else:
            self._check_scans("", text)

    def _check_scans(self, wristband: str, medication: str, *, scanned: bool = False) -> None:
        """Checks the scans on the worker. ``scanned``: the wristband was scanned here just now,
        so once accepted it counts from now (:mod:`ui.wristbands`); one brought from the MAR
        keeps the time it was scanned."""
        target = self._target
        assert target is not None
        resident, order, facility = target.mar.resident, target.state.order, target.facility

        worn = self._ctx.backend.mar.wristband_worn

        def work(_p: Principal) -> ScanCheck:
            return check_scans(wristband, medication, resident, order, clock=self._ctx.clock,
                               zone=facility.zone, is_wristband=worn)

        def ok(result: ScanCheck) -> None:
            if scanned and result[0] and self._target is not None:
                self._ctx.wristbands.remember(resident.resident_id, result[0])
            self._scans_ok(result)

        self._ctx.run(work, ok, self._scan_refused)

    def _scans_ok(self, result: ScanCheck) -> None:
        wristband, medication, matches, lot = result
        if self._target is None:
            return
        self.bedside.accept(wristband, medication, lot)
        self._blocked = False
        self.banner.clear_message()
        if matches and self.form.add_allergy_ack():
            self.banner.show_message("error", "; ".join(matches))
        self.bedside.show_state()
        self._refresh_state()

    def _scan_refused(self, error: BaseException) -> None:
        """A scan the rules refuse blocks Given; a barcode the app does not know at all only
        says so (the scans accepted before stay)."""
        text = describe(error)
        if text.code == "unknown_barcode":
            self.banner.show_message("warning", text.message)
            return
        self._blocked = True
        self.banner.show_message("error", f"BLOCKED – {text.message} {text.hint}")
        self._refresh_state()

    # ---- outcome and fields -------------------------------------------------------------------
    def outcome(self) -> Outcome | None:
        return self.form.outcome()

    def _vitals_changed(self) -> None:
        if self._target is None:
            return
        decision = self.form.check_hold()
        if decision is not None and decision.hold:
            self.banner.show_message(
                "warning", f"HOLD this dose: {decision.reason}. Recorded as Held."
            )
        elif decision is not None and not self._blocked:
            self.banner.clear_message()
        self._refresh_state()

    def _refresh_state(self) -> None:
        target = self._target
        outcome = self.outcome()
        hold = self.form.hold
        given = self.form.outcome_buttons[Outcome.GIVEN]
        given.setEnabled(not self._blocked and not hold and self._ctx.principal() is not None)
        if hold and given.isChecked():
            self.form.outcome_buttons[Outcome.HELD].setChecked(True)
            outcome = Outcome.HELD
        ready = target is not None and outcome is not None and not self._busy
        if outcome is Outcome.GIVEN and self._blocked:
            ready = False
        self.confirm.setEnabled(ready)
        if target is None or outcome is None:
            self._say_confirm("Choose what happened")
            return
        order = target.state.order
        word = dict(OUTCOMES)[outcome]
        what = self._dose_words(order) if outcome is Outcome.GIVEN else order_title(order)
        self._say_confirm(f"Confirm: {word} – {what}")

    def _dose_words(self, order: Order) -> str:
        """What a GIVEN dose will sign, in words: the amount typed or tapped when the order
        allows it (in memory: :func:`~mar_desktop.clinical.dose.check_dose`), else the order's
        dose (or range); a partial dose says so. The service checks everything again."""
        typed, form = self.form.entry("dose").strip(), self.form
        comma = QLocale().decimalPoint() == ","
        try:
            raw = form.vitals().get("glucose")
            glucose = Decimal(raw.replace(",", ".")) if raw else None
            amount = check_dose(order, typed, decimal_comma=comma, glucose=glucose)
        except (MarError, InvalidOperation):
            return describe_dose(order)
        taken = form.entry("partial_taken").strip()
        if not taken:
            return describe_dose(order, amount)
        try:
            part = check_partial(order, amount, taken, decimal_comma=comma)
        except MarError:
            return describe_dose(order, amount)
        return (f"{describe_dose(order, part)} (partial dose: {amount_text(part)} of "
                f"{amount_text(amount)} {order.dose_unit})")

    # ---- witness ------------------------------------------------------------------------------
    def _ask_witness(self) -> None:
        from ui.screens.dialogs import WitnessDialog

        target = self._target
        if target is None:
            return
        dialog = WitnessDialog(order_title(target.state.order), self)
        auth = self._ctx.backend.auth
        dose_text = self.form.entry("dose").strip() if "dose" in self.form.fields else ""
        witnessed = WitnessRequest(
            purpose="administration",
            resident_id=target.mar.resident.resident_id,
            order_id=target.state.order_id,
            scheduled_for=target.dose.scheduled_for if target.dose else None,
            amount=dose_text or None,
            decimal_comma=QLocale().decimalPoint() == ",",
        )

        def submitted(values: dict[str, Any]) -> None:
            def ok(signed: WitnessSignIn) -> None:
                attestation = signed.attestation
                self._witness = attestation
                self._witness_entry_id = signed.entry_id
                self.witness_state.setText(
                    f"✓ {attestation.full_name} {attestation.credentials}".rstrip()
                    + f" signed at {hhmm(attestation.authenticated_at, target.facility.zone)}"
                )
                dialog.accept()

            handle = self._ctx.run(
                lambda p: auth.witness_for_record(
                    p, values["username"], values["password"], values["code"], witnessed
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
        form, checks = self.form, self.bedside
        text = form.entry
        typed = form.vitals()
        for name, value in typed.items():
            try:
                Vitals.model_validate({name: value})
            except ValueError as exc:
                raise RuleViolation(
                    f"Enter the {vital_name(name).lower()} as a number in the usual range.",
                    code="vitals_invalid", field=f"vital_{name}",
                ) from exc
        try:
            vitals = Vitals.model_validate(typed)
        except ValueError as exc:
            raise ValidationError("Check the vitals: enter numbers only.") from exc
        return AdministrationRequest(
            resident_id=target.mar.resident.resident_id,
            order_id=target.state.order_id,
            outcome=outcome,
            scheduled_for=target.dose.scheduled_for if target.dose else None,
            wristband_scan=checks.wristband or None,
            identity_confirmed=checks.identity_confirmed,
            medication_scan=checks.medication or None,
            medication_confirmed=checks.medication_confirmed,
            reason_code=form.reason_code(),
            dose_given=text("dose").strip() or None,
            partial_taken=text("partial_taken").strip() or None,
            partial_reason=text("partial_reason"),
            decimal_comma=QLocale().decimalPoint() == ",",
            site=text("site"),
            vitals=vitals,
            prn_reason=text("prn_reason"),
            pain_score=form.pain_score(),
            outside_window_reason=text("outside"),
            witness=self._witness,
            witness_entry_id=self._witness_entry_id,
            allergy_acknowledged=form.allergy_acknowledged(),
            note=text("note"),
            wristband_bypass_reason=form.bypass_reason("wristband"),
            medication_bypass_reason=form.bypass_reason("medication"),
            prn_indication_reason=text("prn_indication"),
        )

    def _ask_bypass_reason(self, target: str) -> None:
        """A scan confirmed by hand: its reason is asked as one-tap choices in the form."""
        if target in ("wristband", "medication") and self._target is not None:
            self.form.add_bypass_reason(target)  # type: ignore[arg-type]

    def submit(self) -> None:
        target = self._target
        if target is None or self.outcome() is None or self._busy:
            return
        resident_id = target.mar.resident.resident_id
        if self.bedside.wristband and not self._ctx.wristbands.valid_for(resident_id):
            self.bedside.wristband = ""
            self.bedside.show_state()
            self.banner.show_message("warning", WRISTBAND_EXPIRED)
            return
        try:
            request = self.request()
        except MarError as error:
            self._record_refused(error)
            return
        recording = self._ctx.backend.recording
        principal = self._ctx.principal()
        signer = "you"
        if principal is not None:
            signer = f"{principal.user.full_name}, {principal.user.credentials}".rstrip(", ")
        title, resident = order_title(target.state.order), target.mar.resident
        codes, zone = target.facility.settings.reason_codes, target.facility.zone
        self._busy = True
        self._refresh_state()

        def ok(entry: Entry) -> None:
            self._busy = False
            self.clear_phi()
            self.recorded.emit(signed_dose(entry.id, entry.body, title, resident, signer,
                                           codes, zone))

        handle = self._ctx.run(
            lambda p: recording.record_administration(p, request), ok, self._record_refused
        )
        if handle is None:
            self._busy = False

    def _record_refused(self, error: BaseException) -> None:
        """A refusal that names a field (the dose typed, say) is shown under that field, once;
        any other in the banner."""
        self._busy = False
        text = describe(error)
        if text.code == "outside_window":
            self.form.add_outside_reason()
        if text.code == "allergy_unacknowledged":
            self.form.add_allergy_ack()
        if text.code == "prn_indication":
            self.form.add_indication_reason()
        field = error.field if isinstance(error, RuleViolation) else None
        if field is None and text.code == "vitals_required":
            field = next((k for k in self.form.fields
                          if k.startswith("vital_") and not self.form.entry(k).strip()), None)
        field = {"glucose": "vital_glucose", "partial": "partial_taken"}.get(field or "", field)
        field = field or FIELD_OF_CODE.get(text.code)
        if field is not None and self.form.show_field_error(field, str(error)):
            self.banner.clear_message()
        else:
            self.banner.show_message("error", text.full())
        self._refresh_state()

    # ---- keeping the dose across a lock -----------------------------------------------------
    def keep(self, user_id: str) -> KeptDose | None:
        """The dose in progress for ``user_id`` (the session's user), None when none is open.
        Changes nothing on screen: ``clear_phi()`` follows."""
        target = self._target
        if target is None:
            return None
        bedside, form = self.bedside, self.form
        witness = self.witness_state.text() if "witness" in form.fields else ""
        return KeptDose(user_id, target, bedside.wristband, bedside.medication, bedside.lot,
                        bedside.identity_confirmed, bedside.medication_confirmed,
                        form.outcome(), form.entries(), self._witness, witness, self._blocked,
                        self.banner.message, self._witness_entry_id)

    def restore(self, kept: KeptDose) -> None:
        """Shows ``kept`` again as it was, after the same user unlocked: the wristband scan
        only while ``ctx.wristbands`` still holds it (a lock over 5 minutes drops it)."""
        self.begin(replace(kept.target, wristband_scan="", medication_scan=""))
        bedside = self.bedside
        resident_id = kept.target.mar.resident.resident_id
        wristband = kept.wristband if self._ctx.wristbands.valid_for(resident_id) else ""
        bedside.accept(wristband, kept.medication, kept.lot)
        bedside.identity_confirmed = kept.identity_confirmed
        bedside.medication_confirmed = kept.medication_confirmed
        bedside.show_state()
        self.form.choose_outcome(kept.outcome)
        self.form.restore_entries(kept.entries)
        self._witness = kept.witness
        self._witness_entry_id = kept.witness_entry_id
        if kept.witness_text and "witness" in self.form.fields:
            self.witness_state.setText(kept.witness_text)
        self._blocked = kept.blocked
        if kept.message is not None:
            self.banner.show_message(*kept.message)
        if kept.wristband and not wristband:
            self.banner.show_message("warning", WRISTBAND_EXPIRED)
        self._refresh_state()

    def _cancel(self) -> None:
        self.clear_phi()
        self.cancelled.emit()

    def clear_phi(self) -> None:
        self._target = None
        self.bedside.clear()
        self._witness = None
        self._witness_entry_id = None
        self._blocked = self._busy = False
        self.banner.clear_message()
        self.scan.clear()
        self.form.clear()
        self._refresh_state()
