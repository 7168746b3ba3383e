"""Plain-text pieces shared by every report: how an order, a dose, vitals and notes read.

Pure functions returning ``str`` (not escaped for Paragraph markup; the caller escapes).
Times are shown in the facility's local zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from mar_desktop.clinical.dose import order_dose_text
from mar_desktop.clinical.routes import route_words
from mar_desktop.model import Order, Resident, Schedule
from mar_desktop.views import AdministrationRecord, OrderState, OrderStatus, OverrideView

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
VITAL_LABELS = {
    "pulse": "P",
    "systolic_bp": "SBP",
    "diastolic_bp": "DBP",
    "glucose": "BG",
    "respiratory_rate": "RR",
    "spo2": "SpO2",
    "temperature": "T",
}
LATE_DOCUMENTATION = timedelta(minutes=15)


def decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def frequency_text(schedule: Schedule) -> str:
    if schedule.kind == "fixed_times":
        text = "at " + ", ".join(schedule.times)
        if schedule.days_of_week is not None:
            text += " on " + ", ".join(_DAYS[d] for d in sorted(schedule.days_of_week))
        else:
            text += " daily"
        return text
    if schedule.kind == "every_n_hours":
        return f"every {schedule.every_hours} h from {schedule.anchor}"
    parts = ["PRN (as needed)"]
    if schedule.prn_min_interval_minutes:
        minutes = schedule.prn_min_interval_minutes
        parts.append(f"min {minutes // 60} h {minutes % 60:02d} min apart")
    if schedule.prn_max_doses_24h:
        parts.append(f"max {schedule.prn_max_doses_24h}/24 h")
    return ", ".join(parts)


def drug_text(order: Order) -> str:
    """``Metoprolol tartrate 25 mg tablet``."""
    return " ".join(part for part in (order.drug, order.strength, order.form) if part)


def directions_text(order: Order) -> str:
    """Dose, route (in words, as the screens show it: "oral", not "PO"), frequency, hold
    parameters, controlled status and instructions."""
    parts = [
        f"{order_dose_text(order)} {route_words(order.route)}",
        frequency_text(order.schedule),
    ]
    for hold in order.hold_parameters:
        label = VITAL_LABELS.get(hold.vital, hold.vital)
        if hold.minimum is not None:
            parts.append(f"hold if {label} < {decimal_text(hold.minimum)}")
        if hold.maximum is not None:
            parts.append(f"hold if {label} > {decimal_text(hold.maximum)}")
    if order.controlled_schedule:
        witness = " - witness required" if order.needs_witness else ""
        parts.append(f"C-{order.controlled_schedule}{witness}")
    if order.time_critical:
        parts.append("time-critical")
    if order.prn_indication is not None:
        indication = order.prn_indication
        parts.append(f"for {indication.scale} {indication.minimum}-{indication.maximum}")
    text = "; ".join(parts)
    if order.instructions:
        text += f". {order.instructions}"
    return text


def order_status_text(state: OrderState, at: datetime) -> str:
    if state.status == OrderStatus.DISCONTINUED or (
        state.discontinued_at is not None and state.discontinued_at <= at
    ):
        return "DISCONTINUED"
    if state.held_at(at) or state.status == OrderStatus.HELD:
        return "ON HOLD"
    return ""


def allergies_text(resident: Resident) -> str:
    if not resident.allergies:
        return "No known allergies (NKA)"
    parts = []
    for allergy in resident.allergies:
        detail = ", ".join(p for p in (allergy.reaction, allergy.severity) if p and p != "unknown")
        parts.append(f"{allergy.substance.upper()}" + (f" ({detail})" if detail else ""))
    return "ALLERGIES: " + "; ".join(parts)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def resident_banner(resident: Resident, on: date) -> str:
    """``Room 101A · ABERNATHY, Agnes · DOB 1940-03-02 (85 y)``."""
    return (
        f"Room {resident.room} · {resident.family_name.upper()}, {resident.given_name} · "
        f"DOB {resident.date_of_birth:%Y-%m-%d} ({age_on(resident.date_of_birth, on)} y)"
    )


def clock_text(moment: datetime, zone: ZoneInfo, base_day: date | None = None) -> str:
    """``HH:MM`` local; ``MM-DD HH:MM`` when the local date differs from ``base_day``."""
    local = moment.astimezone(zone)
    if base_day is not None and local.date() != base_day:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%H:%M")


def dose_text(record: AdministrationRecord) -> str:
    if record.dose_given is None:
        return ""
    unit = f" {record.dose_unit}" if record.dose_unit else ""
    return f"{decimal_text(record.dose_given)}{unit}"


def vitals_text(record: AdministrationRecord) -> str:
    vitals = record.vitals
    parts = []
    sbp, dbp = vitals.get("systolic_bp"), vitals.get("diastolic_bp")
    if sbp and dbp:
        parts.append(f"BP {sbp}/{dbp}")
    for name, value in vitals.items():
        if name in {"systolic_bp", "diastolic_bp"} and sbp and dbp:
            continue
        parts.append(f"{VITAL_LABELS.get(name, name)} {value}")
    return ", ".join(parts)


def note_lines(
    record: AdministrationRecord,
    initials: Mapping[str, str],
    zone: ZoneInfo,
    reason_labels: Mapping[str, str],
) -> list[str]:
    """Reason, site, outside-window reason, original note and each amendment (with who/when),
    and late documentation. The void line is separate (:func:`void_line`)."""
    lines = []
    if record.reason_code or record.reason_text:
        label = reason_labels.get(record.reason_code or "", "")
        reason = " - ".join(p for p in (label, record.reason_text) if p)
        lines.append(f"Reason: {reason}")
    if record.site:
        lines.append(f"Site: {record.site}")
    if record.outside_window_reason:
        lines.append(f"Outside window: {record.outside_window_reason}")
    if record.note:
        lines.append(f"Note: {record.note}")
    for amendment in record.amendments:
        who = initials.get(amendment.author_user_id, "?")
        lines.append(
            f"Amended {clock_text(amendment.recorded_at, zone)} by {who}: {amendment.text}"
        )
    if record.recorded_at - record.administered_at > LATE_DOCUMENTATION:
        lines.append(f"Documented late: {record.recorded_at.astimezone(zone):%m-%d %H:%M}")
    return lines


def override_line(override: OverrideView, initials: Mapping[str, str]) -> str:
    """One accepted warning in words: "<what>: <reason> (<initials of who>)"."""
    who = initials.get(override.user_id, "") or override.full_name
    return f"{override.label}: {override.reason}" + (f" ({who})" if who else "")


def void_line(record: AdministrationRecord, initials: Mapping[str, str], zone: ZoneInfo) -> str:
    if not record.voided:
        return ""
    who = initials.get(record.voided_by or "", "?")
    when = f" {clock_text(record.voided_at, zone)}" if record.voided_at else ""
    return f"VOIDED{when} by {who}: {record.void_reason}"


def followup_text(record: AdministrationRecord, zone: ZoneInfo) -> str:
    if record.followup_done_at is not None:
        result = (record.followup_result or "").replace("_", " ")
        return f"{clock_text(record.followup_done_at, zone)} {result}".strip()
    if record.followup_due_at is not None:
        return f"due {clock_text(record.followup_due_at, zone)}"
    return ""
