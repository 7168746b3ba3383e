"""The words the MAR screens use for orders, times and recorded doses: never a code on screen
(a route in words, a reason by its label, a vital by its name), and a time with its date when
it is not today. Pure functions; any thread (no Qt).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mar_desktop.clinical.dose import order_dose_text
from mar_desktop.clinical.routes import route_words
from mar_desktop.clinical.rules import VITAL_LABELS
from mar_desktop.model import Order, Outcome, ReasonCode, Resident
from mar_desktop.views import AdministrationRecord

OUTCOME_WORDS: dict[Outcome, str] = {
    Outcome.GIVEN: "Given",
    Outcome.REFUSED: "Refused",
    Outcome.HELD: "Held",
    Outcome.NOT_AVAILABLE: "Not available",
    Outcome.AWAY: "Resident away",
    Outcome.OTHER: "Other",
}
OUTCOME_GLYPHS: dict[Outcome, tuple[str, str]] = {  # glyph, status-cell style
    Outcome.GIVEN: ("✓", "given"),
    Outcome.HELD: ("‖", "held"),
    Outcome.REFUSED: ("✕", "held"),
}


def order_title(order: Order) -> str:
    parts = [order.drug, order.strength, order.form]
    return " ".join(p for p in parts if p)


def amount(value: Decimal, unit: str) -> str:
    return f"{value.normalize():f} {unit}"


def order_line(order: Order) -> str:
    """Dose, unit and route in words ("25 mg oral"), and what the order needs first."""
    text = f"{order_dose_text(order)} {route_words(order.route)}"
    if order.needs_witness:
        text += "  ·  ⚠ Schedule II: witness"
    if order.hold_parameters:
        text += "  ·  ⚠ vitals first"
    if order.prn_indication is not None:
        text += f"  ·  for {order.prn_indication.words}"
    return text


def hhmm(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M") if moment else "–"


def day_hhmm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M")


def when(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    """The time alone when ``moment`` is on ``now``'s local day, else with the day and date
    ("Fri 02 Jan 18:42"): a PRN given three days ago must not read as today."""
    if moment.astimezone(zone).date() == now.astimezone(zone).date():
        return hhmm(moment, zone)
    return day_hhmm(moment, zone)


def vital_name(key: str) -> str:
    """A vital's name for a caption: "Systolic BP", "SpO2", "Glucose"."""
    words = VITAL_LABELS.get(key, key.replace("_", " "))
    return words[:1].upper() + words[1:]


def reason_label(code: str | None, reason_codes: Sequence[ReasonCode]) -> str:
    """The facility's words for a reason code; the code itself only if the list lost it."""
    if not code:
        return ""
    return next((c.label for c in reason_codes if c.code == code), code)


def record_summary(
    record: AdministrationRecord, title: str, names: Mapping[str, str], zone: ZoneInfo
) -> str:
    """One line naming a recorded dose: when, what, what happened, by whom. For the void
    dialog, so nobody voids the wrong entry."""
    outcome = OUTCOME_WORDS.get(record.outcome, record.outcome.value)
    dose = f" {amount(record.dose_given, record.dose_unit)}" if record.dose_given else ""
    who = names.get(record.actor_user_id, record.actor_user_id)
    return (f"{day_hhmm(record.administered_at, zone)}  ·  {title}  ·  {outcome}{dose}  ·  "
            f"by {who}")


@dataclass(frozen=True)
class SignedDose:
    """What a nurse just signed, in words, for the confirmation on the MAR: ``entry_id`` of
    the entry (its history row is highlighted), ``headline`` (outcome, drug, dose and route)
    and ``detail`` (time, resident, signer)."""

    entry_id: str
    headline: str
    detail: str

    def text(self) -> str:
        return f"Signed and saved – {self.headline}\n{self.detail}"


def signed_dose(entry_id: str, body: Mapping[str, Any], title: str, resident: Resident,
                signer: str, reason_codes: Sequence[ReasonCode], zone: ZoneInfo) -> SignedDose:
    """The confirmation of an ``administration.recorded`` entry, read from its signed
    ``body`` (so it says what the entry holds, not what the form showed)."""
    outcome = Outcome(body["outcome"])
    words = OUTCOME_WORDS.get(outcome, outcome.value)
    if outcome is Outcome.GIVEN and body.get("dose_given"):
        what = (f"{amount(Decimal(str(body['dose_given'])), str(body.get('dose_unit', '')))}"
                f" {route_words(str(body.get('route', '')))}".rstrip())
        headline = f"{words}: {title} – {what}"
    else:
        why = reason_label(body.get("reason_code"), reason_codes)
        headline = f"{words}: {title} – not given" + (f" ({why})" if why else "")
    at = datetime.fromisoformat(str(body["administered_at"]))
    detail = (f"at {hhmm(at, zone)} for {resident.display_name} (Room {resident.room})  ·  "
              f"signed by {signer}")
    return SignedDose(entry_id, headline, detail)
