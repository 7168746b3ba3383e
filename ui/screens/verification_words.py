"""The words of the "Verify orders" screen (:mod:`ui.screens.verification`): the queue's row
text, the comparison table's rows (the source beside the transcription, field by field, with a
text marker on every difference so it never rests on colour alone) and the confirmation that
names what was signed. Pure functions; any thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from mar_desktop.services.verification import VerificationItem
from ui.screens.mar_words import amount, order_title, when

QUEUE_COLUMNS = ("Room", "Resident", "Order", "What", "Entered")
"""Short headers: a column is never narrower than its header, and the queue fits a portrait
tablet without scrolling sideways."""

FIELD_WORDS = {
    "drug": "Drug",
    "strength": "Strength",
    "form": "Form",
    "dose": "Dose",
    "route": "Route",
    "frequency": "Frequency",
    "hold_parameters": "Hold parameters",
    "start": "Start",
    "end": "End",
    "instructions": "Instructions",
    "prescriber": "Prescriber",
    "controlled_schedule": "Controlled schedule",
}
TIME_FIELDS = frozenset({"start", "end"})
DIFFERS = "≠ differs"
CHANGED = "Δ changed"


def queue_row(item: VerificationItem, now: datetime, zone: ZoneInfo) -> tuple[str, ...]:
    """One line of the queue, in :data:`QUEUE_COLUMNS` order."""
    pending, order = item.pending, item.pending.state.order
    return (
        item.resident.room,
        item.resident.display_name,
        f"{order_title(order)} {amount(order.dose, order.dose_unit)}",
        item.what,
        f"{item.author_name}\n{when(pending.entered_at, now, zone)}",
    )


def source_heading(item: VerificationItem) -> str:
    """The source column's heading: the pharmacy's values for an import, the entering
    person's for hand entry."""
    if item.pending.source == "import":
        return "Pharmacy"
    return "As entered"  # the heading above names who entered it


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    """One field: its name (with the markers), the source's value, ours, the previous verified
    version's (empty when there is none); ``differs``: ours is not the source's;
    ``changed``: ours is not the previous version's."""

    field: str
    source: str
    ours: str
    previous: str
    differs: bool
    changed: bool

    def cells(self, with_previous: bool) -> tuple[str, ...]:
        marks = [m for m, on in ((DIFFERS, self.differs), (CHANGED, self.changed)) if on]
        name = "\n".join([self.field, *marks])
        values = (self.source or "—", self.ours or "—")
        return (name, *values, self.previous or "—") if with_previous else (name, *values)


def comparison(item: VerificationItem, zone: ZoneInfo) -> list[ComparisonRow]:
    """The comparison table's rows, in the core's field order. Doses are compared as numbers
    (20.0 mg is 20 mg); times (start, end) are shown in the facility's time and compared as
    instants (a pharmacy's 15:00-06:00 is our 21:00 UTC): a false difference would teach
    verifiers to skip the marker."""
    previous = {row.field: row.transcribed for row in item.previous}
    rows = []
    for row in item.rows:
        source, ours, before = row.source, row.transcribed, previous.get(row.field, "")
        differs, changed = row.differs, bool(previous) and _norm(before) != _norm(ours)
        if row.field == "dose":
            differs = _amount(source) != _amount(ours)
            changed = bool(previous) and _amount(before) != _amount(ours)
        elif row.field in TIME_FIELDS:
            differs = _instant(source) != _instant(ours)
            changed = bool(previous) and _instant(before) != _instant(ours)
            source, ours, before = (_local(t, zone) for t in (source, ours, before))
        rows.append(
            ComparisonRow(
                field=FIELD_WORDS.get(row.field, row.field.replace("_", " ").capitalize()),
                source=source,
                ours=ours,
                previous=before,
                differs=differs,
                changed=changed,
            )
        )
    return rows


def _amount(text: str) -> tuple[Decimal, str] | str:
    """A dose ("20.0 mg") as (number, unit), so 20.0 mg and 20 mg are the same dose; the
    text itself when it is not a number and a unit."""
    number, _, unit = text.strip().partition(" ")
    try:
        return Decimal(number).normalize(), _norm(unit)
    except InvalidOperation:
        return _norm(text)


def _instant(text: str) -> datetime | str:
    """An ISO time as an aware instant; the text itself when it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return _norm(text)
    return moment if moment.tzinfo is not None else _norm(text)


def _local(text: str, zone: ZoneInfo) -> str:
    moment = _instant(text)
    if isinstance(moment, datetime):
        return moment.astimezone(zone).strftime("%a %d %b %Y %H:%M")
    return text


def comparison_columns(item: VerificationItem) -> tuple[str, ...]:
    columns = ("Field", source_heading(item), "Our MAR")
    return (*columns, "Previous") if item.previous else columns


def column_legend(item: VerificationItem) -> str:
    """What each column holds, in words (the headers are short to fit a portrait tablet)."""
    source = ("Pharmacy: the values the pharmacy sent" if item.pending.source == "import"
              else f"As entered: the values {item.author_name} typed")
    parts = [source, "Our MAR: the transcription doses are given from"]
    if item.previous:
        parts.append("Previous: the version verified before")
    return " · ".join(parts) + "."


def signed_words(
    item: VerificationItem, decision: str, signer: str, own_key: bool = False
) -> str:
    """The confirmation after a decision: what was signed, for whom, by whom. ``own_key``:
    the stored decision checked as signed by the signer's own key (said only then)."""
    order = item.pending.state.order
    what = f"{order_title(order)} {amount(order.dose, order.dose_unit)}"
    by = f"{signer}'s own key" if own_key else signer
    return (
        f"{decision}: {item.what.lower()} — {what} for {item.resident.display_name} "
        f"(room {item.resident.room}). Signed by {by}."
    )


def _norm(text: str) -> str:
    return " ".join(text.lower().split())
