"""The medication order form: add an order, or change one (which replaces it by a new order).

Fields: drug, strength, form, GTIN/NDC codes, dose (or range) and unit, route; schedule (fixed
times, every N hours, or PRN with minimum interval and 24-hour maximum; days of the week); start and
end; instructions; prescriber; controlled-substance schedule; time-critical; hold parameters
(vital with a minimum and/or maximum); site required; the 24-hour amount maximum of an
ingredient and a sliding scale (:mod:`ui.admin.order_dose_forms`). ``build()`` returns the validated
:class:`~mar_desktop.model.Order` (a change also asks for the reason: ``submitted`` then
carries ``{"order": ..., "reason": ...}``). Errors are shown next to their field.
GUI thread only; times are entered in the facility's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.clinical.routes import Route, route_words
from mar_desktop.envelope import new_id
from mar_desktop.errors import RuleViolation
from mar_desktop.model import HoldParameter, Order, Resident, Schedule
from ui.admin.base import cell_text, set_cell_text, table
from ui.admin.forms import AdminForm, FieldError, decimal_of, int_of, text_of
from ui.admin.order_dose_forms import AmountMaxRow, ScaleEditor
from ui.widgets.common import button

ROUTES = tuple(route.value for route in Route)  # words, as every screen shows routes
KINDS = (("Fixed times of day", "fixed_times"), ("Every N hours", "every_n_hours"),
         ("As needed (PRN)", "prn"))
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
VITALS = (("Blood glucose", "glucose"), ("Pulse", "pulse"), ("Systolic BP", "systolic_bp"),
          ("Diastolic BP", "diastolic_bp"), ("Respiratory rate", "respiratory_rate"),
          ("SpO2", "spo2"), ("Temperature", "temperature"))


def _datetime_edit(moment: datetime, zone: ZoneInfo) -> QDateTimeEdit:
    local = moment.astimezone(zone)
    edit = QDateTimeEdit(QDateTime(local.year, local.month, local.day, local.hour, local.minute,
                                   0))
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    edit.setCalendarPopup(True)
    return edit


def _aware(edit: QDateTimeEdit, zone: ZoneInfo) -> datetime:
    value = edit.dateTime()
    day, clock = value.date(), value.time()
    return datetime(day.year(), day.month(), day.day(), clock.hour(), clock.minute(), tzinfo=zone)


class HoldEditor(QWidget):
    """Hold parameters: the vital, and hold when below the minimum or above the maximum."""

    def __init__(self, holds: Sequence[HoldParameter] = ()) -> None:
        super().__init__()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.table = table(("Vital", "Hold if below", "Hold if above"), "holdTable")
        self.table.setEditTriggers(self.table.editTriggers().AllEditTriggers)
        self.table.setMinimumHeight(150)
        column.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(button("+ Add hold parameter", "", self.add_row, name="addHold"))
        row.addWidget(button("– Remove selected", "danger", self.remove_row))
        row.addStretch(1)
        column.addLayout(row)
        for hold in holds:
            self.add_row(hold.vital, hold.minimum, hold.maximum)

    def add_row(self, vital: str = "glucose", minimum: object = None,
                maximum: object = None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        combo = QComboBox()
        for text, value in VITALS:
            combo.addItem(text, value)
        combo.setCurrentIndex(max(0, combo.findData(vital)))
        self.table.setCellWidget(row, 0, combo)
        self.table.setItem(row, 1, QTableWidgetItem("" if minimum is None else str(minimum)))
        self.table.setItem(row, 2, QTableWidgetItem("" if maximum is None else str(maximum)))
        self.table.setColumnWidth(0, 240)
        self.table.setColumnWidth(1, 200)

    def set_row(self, row: int, vital: str, minimum: str = "", maximum: str = "") -> None:
        """Fills ``row`` (tests and the screenshot script use it like a person would)."""
        combo = self.table.cellWidget(row, 0)
        assert isinstance(combo, QComboBox)
        combo.setCurrentIndex(combo.findData(vital))
        set_cell_text(self.table, row, 1, minimum)
        set_cell_text(self.table, row, 2, maximum)

    def remove_row(self) -> None:
        if self.table.currentRow() >= 0:
            self.table.removeRow(self.table.currentRow())

    def holds(self) -> tuple[HoldParameter, ...]:
        found = []
        for row in range(self.table.rowCount()):
            combo = self.table.cellWidget(row, 0)
            texts = [cell_text(self.table, row, c) for c in (1, 2)]
            low = decimal_of("hold", texts[0], required=False)
            high = decimal_of("hold", texts[1], required=False)
            if low is None and high is None:
                raise FieldError("hold", f"Row {row + 1}: give a lower or an upper limit (or "
                                 "remove the row).")
            if low is not None and high is not None and low >= high:
                raise FieldError("hold", f"Row {row + 1}: the lower limit must be below the "
                                 "upper limit.")
            vital = combo.currentData() if isinstance(combo, QComboBox) else "glucose"
            found.append(HoldParameter(vital=vital, minimum=low, maximum=high))
        return tuple(found)


class OrderDialog(AdminForm):
    """Add an order for ``resident`` (``replacing`` None) or change ``replacing``."""

    def __init__(self, resident: Resident, zone: ZoneInfo, now: datetime,
                 parent: QWidget | None, replacing: Order | None = None) -> None:
        changing = replacing is not None
        super().__init__(
            f"{'Change order' if changing else 'New order'}: {resident.display_name}",
            "Enter the order as written by the prescriber. Times are the facility's local "
            "time." + (" The current order is discontinued when this one starts." if changing
                       else ""),
            "Save changed order" if changing else "Add order", parent, wide=True)
        tall = 700 if self.form.columns == 2 else 1100  # one column: more of it in view
        self.setMinimumHeight(min(tall, self.maximumHeight() - 40))
        self.resident = resident
        self.zone = zone
        self.replacing = replacing
        base = replacing
        f = self.form
        self.drug = QLineEdit(base.drug if base else "")
        self.add("drug", "Drug (name as on the package)", self.drug)
        self.strength = QLineEdit(base.strength if base else "")
        self.strength.setPlaceholderText("e.g. 100 units/mL")
        self.add("strength", "Strength", self.strength)
        self.form_kind = QLineEdit(base.form if base else "")
        self.form_kind.setPlaceholderText("e.g. tablet, pen, solution")
        self.add("form", "Form", self.form_kind)
        self.codes = QLineEdit(", ".join((*base.gtins, *base.ndcs)) if base else "")
        self.codes.setPlaceholderText("GTIN or NDC, comma-separated")
        self.add("codes", "Package codes (GTIN / NDC)", self.codes)
        dose_row = QWidget()
        dose_box = QHBoxLayout(dose_row)
        dose_box.setContentsMargins(0, 0, 0, 0)
        self.dose = QLineEdit(str(base.dose) if base else "")
        self.dose.setObjectName("field_dose")
        self.dose_unit = QLineEdit(base.dose_unit if base else "")
        self.dose_unit.setObjectName("field_dose_unit")
        self.dose_unit.setPlaceholderText("mg, units, mL…")
        self.dose_max = QLineEdit(str(base.dose_max) if base and base.dose_max else "")
        self.dose_max.setObjectName("field_dose_max")
        self.dose_max.setPlaceholderText("up to (a range)")
        for widget in (self.dose, self.dose_max, self.dose_unit):
            widget.setMinimumHeight(48)
        dose_box.addWidget(self.dose, 1)
        dose_box.addWidget(self.dose_max, 1)
        dose_box.addWidget(self.dose_unit, 1)
        self.add("dose", "Dose (or range from–to) and unit", dose_row)
        f.aliases["dose_unit"] = "dose"
        self.route = QComboBox()
        self.route.setEditable(True)
        self.route.addItems(ROUTES)
        self.route.setCurrentText(route_words(base.route) if base else Route.ORAL.value)
        self.add("route", "Route", self.route)
        self.prescriber = QLineEdit(base.prescriber if base else "")
        self.add("prescriber", "Prescriber", self.prescriber)
        self.controlled = QComboBox()
        self.controlled.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.controlled.setMinimumContentsLength(12)
        self.controlled.addItem("Not controlled", None)
        for level in ("II", "III", "IV", "V"):
            note = " (witness required)" if level == "II" else ""
            self.controlled.addItem(f"Schedule {level}{note}", level)
        self.controlled.setCurrentIndex(max(0, self.controlled.findData(
            base.controlled_schedule if base else None)))
        self.add("controlled_schedule", "Controlled substance", self.controlled)
        self.time_critical = QCheckBox("Time-critical (±30 min window)")
        self.time_critical.setChecked(bool(base and base.time_critical))
        self.add("time_critical", "", self.time_critical)
        self.site_required = QCheckBox("Site must be recorded (injections, patches)")
        self.site_required.setChecked(bool(base and base.site_required))
        self.add("site_required", "", self.site_required)
        # ---- schedule (second column) ----
        schedule = base.schedule if base else Schedule(kind="fixed_times", times=("08:00",))
        self.kind = QComboBox()
        for text, value in KINDS:
            self.kind.addItem(text, value)
        self.kind.setCurrentIndex(self.kind.findData(schedule.kind))
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.add("schedule_kind", "Schedule", self.kind, column=1)
        self.times = QLineEdit(", ".join(schedule.times))
        self.times.setPlaceholderText("e.g. 08:00, 20:00")
        self.add("times", "Times of day (HH:MM, comma-separated)", self.times, column=1)
        hours_row = QWidget()
        hours_box = QHBoxLayout(hours_row)
        hours_box.setContentsMargins(0, 0, 0, 0)
        self.every_hours = QLineEdit(str(schedule.every_hours or ""))
        self.every_hours.setPlaceholderText("hours")
        self.anchor = QLineEdit(schedule.anchor)
        self.anchor.setPlaceholderText("first at HH:MM")
        for widget in (self.every_hours, self.anchor):
            widget.setMinimumHeight(48)
            hours_box.addWidget(widget, 1)
        self.add("every_hours", "Every N hours, starting at", hours_row, column=1)
        f.aliases["schedule.anchor"] = "every_hours"
        prn_row = QWidget()
        prn_box = QHBoxLayout(prn_row)
        prn_box.setContentsMargins(0, 0, 0, 0)
        self.prn_interval = QLineEdit(str(schedule.prn_min_interval_minutes or ""))
        self.prn_interval.setPlaceholderText("min. minutes apart")
        self.prn_max = QLineEdit(str(schedule.prn_max_doses_24h or ""))
        self.prn_max.setPlaceholderText("max doses / 24 h")
        for widget in (self.prn_interval, self.prn_max):
            widget.setMinimumHeight(48)
            prn_box.addWidget(widget, 1)
        self.add("prn", "PRN: minimum interval (min) and 24-hour maximum", prn_row, column=1)
        indication = base.prn_indication if base else None
        indication_row = QWidget()
        indication_box = QHBoxLayout(indication_row)
        indication_box.setContentsMargins(0, 0, 0, 0)
        self.indication_min = QLineEdit(str(indication.minimum) if indication else "")
        self.indication_min.setPlaceholderText("lowest pain score")
        self.indication_min.setObjectName("indicationMin")
        self.indication_max = QLineEdit(str(indication.maximum) if indication else "")
        self.indication_max.setPlaceholderText("highest pain score")
        self.indication_max.setObjectName("indicationMax")
        for widget in (self.indication_min, self.indication_max):
            widget.setMinimumHeight(48)
            indication_box.addWidget(widget, 1)
        self.add("indication", "PRN: for pain scores from – to (optional, 0–10)",
                 indication_row, column=1)
        days_row = QWidget()
        days_box = QGridLayout(days_row)  # two rows: Sunday stays in view in a narrow column
        days_box.setContentsMargins(0, 0, 0, 0)
        self.days: list[QCheckBox] = []
        chosen = schedule.days_of_week
        for index, name in enumerate(DAYS):
            box = QCheckBox(name)
            box.setObjectName(f"day_{name}")
            box.setChecked(chosen is None or index in chosen)
            self.days.append(box)
            days_box.addWidget(box, index // 4, index % 4)
        self.add("days_of_week", "Days of the week", days_row, column=1)
        start = base.start if base else now
        self.start = _datetime_edit(max(start, now) if changing else start, zone)
        self.add("start", "Starts", self.start, column=1)
        end_row = QWidget()
        end_box = QHBoxLayout(end_row)
        end_box.setContentsMargins(0, 0, 0, 0)
        self.has_end = QCheckBox("Ends")
        self.has_end.setChecked(bool(base and base.end))
        self.end = _datetime_edit(base.end if base and base.end else now, zone)
        self.end.setEnabled(self.has_end.isChecked())
        self.has_end.toggled.connect(self.end.setEnabled)
        self.end.setMinimumHeight(48)
        end_box.addWidget(self.has_end)
        end_box.addWidget(self.end, 1)
        self.add("end", "End (optional)", end_row, column=1)
        self.instructions = QPlainTextEdit(base.instructions if base else "")
        self.instructions.setFixedHeight(80)
        self.add("instructions", "Instructions", self.instructions, span=True)
        self.hold_editor = HoldEditor(base.hold_parameters if base else ())
        self.add("hold", "Hold parameters (vitals are asked for before each dose)",
                 self.hold_editor, span=True)
        self.amount_max = AmountMaxRow(base)
        self.add("max_amount", "24-hour maximum of the ingredient, all orders together",
                 self.amount_max, span=True)
        self.scale_editor = ScaleEditor(base.sliding_scale if base else ())
        self.add("sliding_scale", "Sliding scale (glucose mg/dL from–to → dose); the dose "
                 "given must be the row for the glucose", self.scale_editor, span=True)
        self.reason: QPlainTextEdit | None = None
        if changing:
            self.reason = QPlainTextEdit()
            self.reason.setFixedHeight(80)
            self.add("reason", "Reason for the change", self.reason, span=True)
        self.allergy_ack = QCheckBox("Allergy warning checked with the prescriber: enter the order")
        self.allergy_ack.setObjectName("allergyAcknowledged")
        self.add("allergy", "", self.allergy_ack, span=True)
        self.form.set_shown("allergy", False)  # shown once the order is refused for an allergy
        self.allergy_asked = False
        f.aliases.update({
            "schedule.times": "times", "schedule.every_hours": "every_hours",
            "schedule.prn_min_interval_minutes": "prn", "schedule.prn_max_doses_24h": "prn",
            "schedule.days_of_week": "days_of_week", "schedule": "schedule_kind",
            "gtins": "codes", "ndcs": "codes", "hold_parameters": "hold",
            "prn_indication": "indication",
            "dose_max": "dose", "max_amount_24h": "max_amount", "max_amount_unit": "max_amount",
            "ingredient": "max_amount",
        })
        f.hints = {"codes": "Package codes are 8–14 digits (GTIN) or an NDC like 0088-2220-33.",
                   "times": "Times are HH:MM on the 24-hour clock, e.g. 08:00, 20:00."}
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        for key, shown in (("times", kind == "fixed_times"),
                           ("days_of_week", kind == "fixed_times"),
                           ("every_hours", kind == "every_n_hours"), ("prn", kind == "prn"),
                           ("indication", kind == "prn")):
            self.form.set_shown(key, shown)

    def _schedule(self) -> Schedule:
        kind = self.kind.currentData()
        days = tuple(i for i, box in enumerate(self.days) if box.isChecked())
        if kind == "fixed_times" and not days:
            raise FieldError("days_of_week", "Tick at least one day.")
        values: dict[str, object] = {"kind": kind}
        if kind == "fixed_times":
            times = [t.strip() for t in self.times.text().replace(";", ",").split(",")
                     if t.strip()]
            values["times"] = tuple(t.zfill(5) for t in times)
            values["days_of_week"] = None if len(days) == 7 else days
        elif kind == "every_n_hours":
            values["every_hours"] = int_of("every_hours", self.every_hours.text(), required=True)
            values["anchor"] = self.anchor.text().strip().zfill(5) or "00:00"
        else:
            values["prn_min_interval_minutes"] = int_of("prn", self.prn_interval.text())
            values["prn_max_doses_24h"] = int_of("prn", self.prn_max.text())
        return Schedule.model_validate(values)

    def _codes(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        gtins, ndcs = [], []
        for code in (c.strip() for c in self.codes.text().split(",")):
            if not code:
                continue
            if code.isdigit() and 8 <= len(code) <= 14:
                gtins.append(code)
            elif "-" in code and code.replace("-", "").isdigit():
                ndcs.append(code)
            else:
                raise FieldError("codes", f"'{code}' is neither a GTIN (8–14 digits) nor an NDC "
                                 "(digits with dashes).")
        return tuple(gtins), tuple(ndcs)

    def _indication(self) -> dict[str, object] | None:
        """The PRN indication range typed (both ends, or neither); None for none or for an
        order that is not PRN."""
        if self.kind.currentData() != "prn":
            return None
        low = int_of("indication", self.indication_min.text())
        high = int_of("indication", self.indication_max.text())
        if low is None and high is None:
            return None
        if low is None or high is None:
            raise FieldError("indication", "Give both ends of the pain score range, or neither.")
        return {"scale": "pain", "minimum": low, "maximum": high}

    def order(self) -> Order:
        gtins, ndcs = self._codes()
        dose = decimal_of("dose", self.dose.text())
        end = _aware(self.end, self.zone) if self.has_end.isChecked() else None
        return Order.model_validate({
            "order_id": new_id(),
            "resident_id": self.resident.resident_id,
            "drug": text_of(self.drug),
            "strength": text_of(self.strength),
            "form": text_of(self.form_kind),
            "gtins": gtins,
            "ndcs": ndcs,
            "dose": dose,
            "dose_unit": text_of(self.dose_unit),
            "route": self.route.currentText().strip(),
            "schedule": self._schedule(),
            "start": _aware(self.start, self.zone),
            "end": end,
            "instructions": text_of(self.instructions),
            "prescriber": text_of(self.prescriber),
            "controlled_schedule": self.controlled.currentData(),
            "time_critical": self.time_critical.isChecked(),
            "hold_parameters": self.hold_editor.holds(),
            "site_required": self.site_required.isChecked(),
            "prn_followup_minutes": self.replacing.prn_followup_minutes if self.replacing
            else None,
            "prn_indication": self._indication(),
            "dose_max": decimal_of("dose", self.dose_max.text(), required=False),
            "sliding_scale": self.scale_editor.rows(),
            **self.amount_max.values(),
        })

    def build(self) -> object:
        """``{"order", "reason" (a change only), "allergy_acknowledged"}``."""
        order = self.order()
        value: dict[str, object] = {
            "order": order,
            "allergy_acknowledged": self.allergy_asked and self.allergy_ack.isChecked(),
        }
        if self.reason is not None:
            reason = text_of(self.reason)
            if not reason:
                raise FieldError("reason", "Required: say why the order changes.")
            value["reason"] = reason
        return value

    def fail(self, error: BaseException) -> None:
        """An allergy refusal shows its warning and the acknowledgement to tick (recorded in
        the order's audit entry when the order is then entered)."""
        if isinstance(error, RuleViolation) and error.code == "allergy_unacknowledged":
            self.allergy_asked = True
            self.form.set_shown("allergy", True)
            self.allergy_ack.setChecked(False)
            self.ok.setEnabled(True)
            self.banner.show_message("warning", str(error))
            return
        super().fail(error)
