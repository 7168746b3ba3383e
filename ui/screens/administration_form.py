"""What happened to one dose and what the rules need for it: the outcome buttons and the fields
below them.

Fields appear only when needed: reason (not given), outside-window reason, PRN reason (one tap
on a common reason, or typed) and pain score (one tap, optional), vitals (hold parameters),
site, dose, witness, allergy acknowledgement, note. Every choice is shown in words (reasons by
their label, vitals by name) and marked "●" when chosen, "○" when not: none looks chosen before
a tap. The hold parameters are checked here, in memory, as the vitals are typed: a value
outside the limits switches the outcome to Held with reason code "H".

GUI thread only; no worker calls, nothing written, no I/O. The administration screen builds the
fields per order (:meth:`DoseForm.build`), reads them back to make the request and shows every
message itself. Shows PHI: :meth:`DoseForm.clear` drops every field at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.clinical import rules
from mar_desktop.clinical.dose import amount_text, dose_range_text, range_choices, scale_dose
from mar_desktop.clinical.overrides import (
    DEFAULT_BYPASS_REASONS,
    BypassReason,
    BypassTarget,
    bypass_choices,
)
from mar_desktop.errors import RuleViolation, ValidationError
from mar_desktop.model import Order, Outcome, ReasonCode
from ui.screens.mar_words import vital_name
from ui.touch import kinetic
from ui.widgets.choices import ChoiceRow, mark
from ui.widgets.common import button, label, mark_invalid

OUTCOMES = (
    (Outcome.GIVEN, "✓ Given"),
    (Outcome.REFUSED, "✕ Refused"),
    (Outcome.HELD, "‖ Held"),
    (Outcome.NOT_AVAILABLE, "Unavailable"),
    (Outcome.AWAY, "Away"),
    (Outcome.OTHER, "Other"),
)
OUTCOME_BUTTONS = {  # the words on the buttons; the radio mark says which is chosen
    Outcome.GIVEN: "Given",
    Outcome.REFUSED: "Refused",
    Outcome.HELD: "Held",
    Outcome.NOT_AVAILABLE: "Unavailable",
    Outcome.AWAY: "Away",
    Outcome.OTHER: "Other",
}
PAIN_SCORES = tuple((score, str(score)) for score in range(11))
SITES = ("Left upper arm", "Right upper arm", "Abdomen – left", "Abdomen – right",
         "Left thigh", "Right thigh", "Left buttock", "Right buttock")
ALLERGY_ACK = "I have checked the allergy warning and will give it"
BYPASS_CAPTIONS = {
    "wristband": "Why the wristband was not scanned",
    "medication": "Why the medication was not scanned",
}


class DoseForm(QWidget):
    """The outcome row and, in a scroll area below it, the fields of the order being given.

    ``fields`` maps a key ("reason", "outside", "prn_reason", "pain", "vital_<name>", "site",
    "dose", "witness", "allergy", "note") to its input; only the keys the order needs exist.
    "prn_reason" is the typed reason; ``prn_choices`` the common reasons above it (a tap fills
    it in). "pain" is a :class:`ChoiceRow` of 0 to 10, none chosen: not assessed.
    ``hold`` is true while the vitals typed call for holding the dose.
    """

    outcome_changed = Signal()  # an outcome tapped; the reason choices already follow it
    vitals_edited = Signal()  # a vital typed or cleared: the screen calls check_hold()
    witness_requested = Signal()  # "Witness sign-in…" tapped
    dose_edited = Signal()  # the dose typed, tapped or filled in from a sliding scale

    witness_state: QLabel  # set by build() for an order that needs a witness

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._order: Order | None = None
        self._reason_codes: Sequence[ReasonCode] = ()
        self._bypass_reasons: Sequence[BypassReason] = DEFAULT_BYPASS_REASONS
        self.hold = False
        self.fields: dict[str, Any] = {}
        self._placed: dict[str, QWidget] = {}  # key -> the widget in the form's row
        self.prn_choices: ChoiceRow | None = None
        self.dose_choices: ChoiceRow | None = None  # a range order's amounts, one tap each
        self._narrow = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        outcome_row = QGridLayout()  # one row; two rows on a portrait tablet (place_outcomes)
        self._outcome_grid = outcome_row
        self._outcome_columns = 0
        self.outcomes = QButtonGroup(self)
        self.outcomes.setExclusive(True)
        self.outcome_buttons: dict[Outcome, Any] = {}
        for outcome, _ in OUTCOMES:
            kind = "given" if outcome is Outcome.GIVEN else "outcome"
            words = OUTCOME_BUTTONS[outcome]
            choice = button("", kind, checkable=True, name=f"outcome_{outcome.value}")
            choice.setAccessibleName(words)
            mark(choice, words)
            choice.toggled.connect(lambda _on, c=choice, w=words: mark(c, w))
            choice.setMinimumHeight(60)
            self.outcomes.addButton(choice)
            self.outcome_buttons[outcome] = choice
        self.outcomes.buttonClicked.connect(lambda _b: self._outcome_clicked())
        self.place_outcomes(len(OUTCOMES))
        layout.addLayout(outcome_row)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        kinetic(self.scroll_area)
        holder = QWidget()
        self.details = QFormLayout(holder)
        self.details.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.details.setVerticalSpacing(8)
        self.scroll_area.setWidget(holder)
        layout.addWidget(self.scroll_area, 1)
        self._error: tuple[QWidget, QLabel] | None = None

    def place_outcomes(self, columns: int) -> None:
        """The outcome buttons in ``columns`` columns ("Given" first and widest). The screen
        picks the count from its own width."""
        self._narrow = columns < len(OUTCOMES)
        self._place_choices()
        if columns == self._outcome_columns:
            return
        self._outcome_columns = columns
        grid = self._outcome_grid
        for index, choice in enumerate(self.outcome_buttons.values()):
            grid.removeWidget(choice)
            grid.addWidget(choice, index // columns, index % columns)
        wide = columns >= len(OUTCOMES)  # one row: equal widths, so every word fits
        for col in range(len(OUTCOMES)):
            grid.setColumnStretch(col, (2 if col == 0 and not wide else 1) if col < columns
                                  else 0)

    def _place_choices(self) -> None:
        pain = self.fields.get("pain")
        if isinstance(pain, ChoiceRow):
            pain.set_columns(6 if self._narrow else len(PAIN_SCORES))
        if self.prn_choices is not None:
            self.prn_choices.set_columns(2)

    def outcome(self) -> Outcome | None:
        """The outcome checked, None before one is chosen."""
        for outcome, widget in self.outcome_buttons.items():
            if widget.isChecked():
                return outcome
        return None

    def _outcome_clicked(self) -> None:
        self._set_reasons()
        self.outcome_changed.emit()

    def choose_outcome(self, outcome: Outcome | None) -> None:
        """Checks ``outcome`` (None: none) as a tap would, without the signal."""
        if outcome is None:
            self.outcomes.setExclusive(False)
            for widget in self.outcome_buttons.values():
                widget.setChecked(False)
            self.outcomes.setExclusive(True)
        else:
            self.outcome_buttons[outcome].setChecked(True)
        self._set_reasons()

    # ---- building -----------------------------------------------------------------------------
    def _field(self, key: str, caption: str, widget: QWidget,
               placed: QWidget | None = None) -> None:
        """Adds field ``key``; ``placed``: the widget holding it in the form, if not itself."""
        widget.setObjectName(f"field_{key}")
        self.fields[key] = widget
        self._placed[key] = placed or widget
        self.details.addRow(label(caption), placed or widget)

    def _prn_fields(self, reasons: Sequence[str]) -> None:
        """The PRN reason (a tap on one of ``reasons``, or typed) and the pain score."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        typed = QLineEdit()
        typed.setPlaceholderText("or type the reason" if reasons else "Type the reason")
        if reasons:
            choices = ChoiceRow([(r, r) for r in reasons], 2, "prnReason")
            choices.chosen.connect(lambda value: typed.setText(str(value or "")))
            typed.textChanged.connect(lambda text: choices.set_value(text.strip() or None))
            column.addWidget(choices)
            self.prn_choices = choices
        column.addWidget(typed)
        self._field("prn_reason", "Given for", typed, box)
        self._field("pain", "Pain score",
                    ChoiceRow(PAIN_SCORES, len(PAIN_SCORES), "painScore", compact=True))
        self._place_choices()

    def build(self, order: Order, reason_codes: Sequence[ReasonCode], *, outside: bool,
              prn_reasons: Sequence[str] = (),
              bypass_reasons: Sequence[BypassReason] = DEFAULT_BYPASS_REASONS) -> None:
        """The fields ``order`` needs, after :meth:`clear`; ``outside``: the dose is outside its
        window, so a reason for that is asked. ``reason_codes``: the facility's list;
        ``prn_reasons``: the reasons a PRN dose offers for one tap; ``bypass_reasons``: the
        facility's reasons for confirming a scan by hand."""
        self._order = order
        self._reason_codes = reason_codes
        self._bypass_reasons = bypass_reasons
        reason = QComboBox()
        self._field("reason", "Reason", reason)
        if outside:
            self._field("outside", "Why outside the window", QLineEdit())
        if order.is_prn:
            self._prn_fields(prn_reasons)
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
            edit.textChanged.connect(lambda _t: self.vitals_edited.emit())
            self._field(f"vital_{vital}", vital_name(vital), edit)
        if order.site_required:
            site = QComboBox()
            site.setEditable(True)
            site.addItem("")
            site.addItems(SITES)
            self._field("site", "Site", site)
        self._dose_field(order)
        if order.needs_witness:
            box = QWidget()
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 0, 0)
            self.witness_state = label("✕ No witness yet", wrap=True)  # a narrow form: wraps
            self.witness_state.setObjectName("witnessState")
            row.addWidget(self.witness_state, 1)
            row.addWidget(button("Witness sign-in…", "", self.witness_requested.emit,
                                 name="witnessSignIn"))
            self._field("witness", "Witness", box)
        self._field("note", "Note (optional)", QLineEdit())
        self._field("partial", "", button("Only part taken…", "", self._ask_partial,
                                          name="partialDose"))
        self._set_reasons()

    def _dose_field(self, order: Order) -> None:
        """The dose: the order's, filled in; for a range, one tap on an amount of it (none
        chosen before the tap); for a sliding scale, the scale's row for the glucose typed
        (the glucose field is added if no hold parameter asked for it)."""
        ranged, scaled = order.dose_max is not None, bool(order.sliding_scale)
        dose = QLineEdit("" if ranged or scaled else f"{order.dose.normalize():f}")
        dose.textChanged.connect(lambda _t: self.dose_edited.emit())
        caption = f"Dose ({order.dose_unit})"
        if ranged:
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            amounts = [(f"{a:f}", f"{amount_text(a)} {order.dose_unit}")
                       for a in range_choices(order)]
            choices = ChoiceRow(amounts, len(amounts), "doseChoice")
            choices.chosen.connect(lambda value: dose.setText(str(value or "")))
            dose.textChanged.connect(lambda text: choices.set_value(text.strip() or None))
            column.addWidget(choices)
            column.addWidget(dose)
            self.dose_choices = choices
            self._field("dose", f"Dose ({dose_range_text(order)})", dose, box)
        else:
            self._field("dose", caption, dose)
        if scaled:
            glucose = self.fields.get("vital_glucose")
            if glucose is None:
                glucose = QLineEdit()
                glucose.textChanged.connect(lambda _t: self.vitals_edited.emit())
                self._field("vital_glucose", vital_name("glucose"), glucose)
            glucose.setPlaceholderText("mg/dL – the sliding scale gives the dose")
            glucose.textChanged.connect(lambda text: self._scale_dose(order, text))

    def _scale_dose(self, order: Order, glucose_text: str) -> None:
        """Fills in the sliding scale's dose for the glucose typed; clears it when the glucose
        is not readable or has no row (the service refuses with the reason)."""
        dose = self.fields["dose"]
        try:
            glucose = Decimal(glucose_text.strip().replace(",", "."))
            amount = scale_dose(order, glucose) if glucose.is_finite() else None
        except (InvalidOperation, RuleViolation):
            amount = None
        dose.setText("" if amount is None else f"{amount:f}")

    def _ask_partial(self) -> None:
        self.add_partial()

    def add_partial(self) -> bool:
        """Asks for the amount actually taken and why (a partial dose), unless asked already.
        True if added."""
        if "partial_taken" in self.fields or self._order is None:
            return False
        taken = QLineEdit()
        taken.textChanged.connect(lambda _t: self.dose_edited.emit())
        self._field("partial_taken", f"Amount taken ({self._order.dose_unit})", taken)
        self._field("partial_reason", "Why only part", QLineEdit())
        return True

    def add_outside_reason(self) -> bool:
        """Asks why the dose is outside its window, unless asked already. True if added."""
        if "outside" in self.fields:
            return False
        self._field("outside", "Why outside the window", QLineEdit())
        return True

    def add_indication_reason(self) -> bool:
        """Asks why a PRN dose is given outside its order's indication (a pain score outside
        the range, or none), unless asked already. True if added."""
        if "prn_indication" in self.fields:
            return False
        self._field("prn_indication", "Why give it outside the indication", QLineEdit())
        return True

    def add_allergy_ack(self) -> bool:
        """Asks to acknowledge an allergy warning, unless asked already. True if added."""
        if "allergy" in self.fields:
            return False
        self._field("allergy", "⚠ Allergy", QCheckBox(ALLERGY_ACK))
        return True

    def add_bypass_reason(self, target: BypassTarget) -> bool:
        """Asks, as one-tap choices from the facility's list (given to :meth:`build`), why the
        ``target`` scan was bypassed (field ``bypass_<target>``), unless asked already. True if
        added."""
        key = f"bypass_{target}"
        if key in self.fields:
            return False
        choices = [(r.code, r.label) for r in bypass_choices(target, self._bypass_reasons)]
        self._field(key, BYPASS_CAPTIONS[target], ChoiceRow(choices, 2, f"bypass_{target}"))
        return True

    def bypass_reason(self, target: BypassTarget) -> str:
        """The bypass reason code chosen for ``target``; "" when none (or not asked)."""
        row = self.fields.get(f"bypass_{target}")
        value = row.value() if isinstance(row, ChoiceRow) else None
        return value if isinstance(value, str) else ""

    def _set_reasons(self) -> None:
        """The reason codes that fit the outcome chosen; the row only for a dose not given."""
        combo = self.fields.get("reason")
        if self._order is None or combo is None:
            return
        outcome = self.outcome()
        combo.clear()
        if outcome is None or outcome is Outcome.GIVEN:
            combo.addItem("– not needed –", None)
        else:
            combo.addItem("Choose a reason…", None)
            for code in self._reason_codes:
                if not code.outcomes or outcome in code.outcomes:
                    combo.addItem(code.label, code.code)
        self.details.setRowVisible(combo, outcome not in (None, Outcome.GIVEN))

    # ---- reading ------------------------------------------------------------------------------
    def entries(self) -> dict[str, str | int | bool]:
        """What is typed, chosen or ticked in every field, by key (text, list index, tick): to
        put it back with :meth:`restore_entries`. Holds PHI; in memory only."""
        kept: dict[str, str | int | bool] = {}
        for key, widget in self.fields.items():
            if isinstance(widget, ChoiceRow):
                value = widget.value()
                kept[key] = value if isinstance(value, int | str) else -1
            elif isinstance(widget, QCheckBox):
                kept[key] = widget.isChecked()
            elif isinstance(widget, QComboBox):
                kept[key] = widget.currentText() if widget.isEditable() else widget.currentIndex()
            elif isinstance(widget, QLineEdit):
                kept[key] = widget.text()
        return kept

    def restore_entries(self, kept: dict[str, str | int | bool]) -> None:
        """Puts back what :meth:`entries` returned, after :meth:`build` for the same order and
        :meth:`choose_outcome`: asks again the fields added on the way (outside-window reason,
        allergy acknowledgement); the vitals before the reason, whose choice a hold sets."""
        if "outside" in kept:
            self.add_outside_reason()
        if "allergy" in kept:
            self.add_allergy_ack()
        if "prn_indication" in kept:
            self.add_indication_reason()
        if "bypass_wristband" in kept:
            self.add_bypass_reason("wristband")
        if "bypass_medication" in kept:
            self.add_bypass_reason("medication")
        for key in sorted(kept, key=lambda k: k == "reason"):
            widget, value = self.fields.get(key), kept[key]
            if isinstance(widget, ChoiceRow):
                chosen = isinstance(value, str) or (isinstance(value, int) and value >= 0)
                widget.set_value(value if chosen else None)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox) and isinstance(value, str):
                widget.setCurrentText(value)
            elif isinstance(widget, QComboBox) and isinstance(value, int):
                widget.setCurrentIndex(value)
            elif isinstance(widget, QLineEdit):
                widget.setText(str(value))

    def entry(self, key: str) -> str:
        """What is typed or chosen in field ``key``; "" for a field the order does not have."""
        widget = self.fields.get(key)
        if widget is None:
            return ""
        return widget.currentText() if isinstance(widget, QComboBox) else widget.text()

    def vitals(self) -> dict[str, str]:
        """The vitals typed, by vital name; empty ones left out."""
        values: dict[str, str] = {}
        for key, widget in self.fields.items():
            if key.startswith("vital_") and widget.text().strip():
                values[key.removeprefix("vital_")] = widget.text().strip()
        return values

    def reason_code(self) -> str | None:
        """The reason code chosen, None for none. Only after :meth:`build`."""
        code: str | None = self.fields["reason"].currentData()
        return code

    def pain_score(self) -> int | None:
        """The pain score chosen; None when not assessed or not a PRN order."""
        pain = self.fields.get("pain")
        value = pain.value() if isinstance(pain, ChoiceRow) else None
        return value if isinstance(value, int) else None

    def allergy_acknowledged(self) -> bool:
        ack = self.fields.get("allergy")
        return bool(ack is not None and ack.isChecked())

    def check_hold(self) -> rules.HoldDecision | None:
        """Checks the vitals typed against the order's hold parameters and keeps the answer in
        ``hold``. A hold checks "Held" and picks reason code "H". None (and no hold) while a
        vital is missing or not a number. Only after :meth:`build`."""
        assert self._order is not None
        try:
            decision = rules.evaluate_hold_parameters(self._order, self.vitals())
        except (RuleViolation, ValidationError, InvalidOperation):
            self.hold = False
            return None
        self.hold = decision.hold
        if decision.hold:
            self.outcome_buttons[Outcome.HELD].setChecked(True)
            self._set_reasons()
            combo = self.fields["reason"]
            combo.setCurrentIndex(max(combo.findData("H"), 0))
        return decision

    def show_field_error(self, key: str, message: str) -> bool:
        """Shows ``message`` under the field ``key``, marks the field and puts the focus in it;
        False (nothing shown) if the order has no such field. Typing in it clears the mark."""
        widget = self.fields.get(key)
        if widget is None:
            return False
        self.clear_field_error()
        placed = self._placed.get(key, widget)
        position: tuple[int, object] = self.details.getWidgetPosition(placed)  # type: ignore[assignment]
        row = position[0]
        note = label(message, "fieldError", wrap=True)
        note.setObjectName(f"error_{key}")
        self.details.insertRow(row + 1, "", note)
        self._error = (widget, note)
        mark_invalid(widget, True)
        widget.setFocus()
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(self.clear_field_error)
        return True

    def field_error(self, key: str) -> str:
        """The message shown under field ``key``, or ""."""
        if self._error is None or self.fields.get(key) is not self._error[0]:
            return ""
        return self._error[1].text()

    def clear_field_error(self) -> None:
        if self._error is None:
            return
        widget, note = self._error
        self._error = None
        mark_invalid(widget, False)
        if isinstance(widget, QLineEdit):
            widget.textEdited.disconnect(self.clear_field_error)
        self.details.removeRow(note)

    def clear(self) -> None:
        """No outcome chosen, every field removed (their entries with them), no hold."""
        self._order = None
        self._reason_codes = ()
        self.hold = False
        self.outcomes.setExclusive(False)
        for widget in self.outcome_buttons.values():
            widget.setChecked(False)
        self.outcomes.setExclusive(True)
        self._error = None
        self.fields = {}
        self._placed = {}
        self.prn_choices = None
        self.dose_choices = None
        while self.details.rowCount():
            self.details.removeRow(0)

