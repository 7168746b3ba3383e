"""The "scan compliance and overrides" report: per unit and nurse, for a date range, how many
doses were recorded and given, what share of the given doses had the wristband and the
medication scanned, how many warnings of each kind were accepted (docs: overrides), and the
urgent doses given on orders awaiting verification.

Counting: voided records (entered in error) are left out. A given dose counts as scanned for
the wristband (the medication) unless an override says that scan was bypassed — every given
dose has either the scan or a bypass with its reason (the recording service refuses anything
else), and doses recorded before overrides were their own entry derive it from their scan
flags. Percentages are of the given doses; "–" when none was given.

:func:`compliance_rows` is pure and needs no reportlab (the gathering imports it);
:mod:`mar_desktop.reports.compliance_pdf` draws the PDF.
The data hold PHI (the urgent doses name residents): never log them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mar_desktop.model import Facility, Outcome, Resident, User
from mar_desktop.views import AdministrationRecord, OverrideView, UrgentDose

COUNTED_CODES: tuple[str, ...] = (
    "allergy",
    "wristband_not_scanned",
    "medication_not_scanned",
    "outside_window",
    "prn_indication",
)
"""The override codes the report counts, in column order (urgent doses come after)."""
SHORT_LABELS = {
    "allergy": "Allergy ack.",
    "wristband_not_scanned": "Wristband by hand",
    "medication_not_scanned": "Medication by hand",
    "outside_window": "Outside window",
    "prn_indication": "PRN indication",
}


@dataclass(frozen=True, slots=True)
class ComplianceRow:
    """One nurse on one unit (``user_id`` "" : the unit's total)."""

    unit_id: str
    unit_name: str
    user_id: str
    name: str
    recorded: int = 0
    given: int = 0
    wristband_scanned: int = 0
    medication_scanned: int = 0
    overrides: Mapping[str, int] = field(default_factory=dict)
    urgent: int = 0

    @property
    def wristband_percent(self) -> str:
        return _percent(self.wristband_scanned, self.given)

    @property
    def medication_percent(self) -> str:
        return _percent(self.medication_scanned, self.given)


def _percent(part: int, whole: int) -> str:
    return "–" if whole == 0 else f"{100 * part / whole:.1f} %"


@dataclass(frozen=True, slots=True)
class UrgentLine:
    """One urgent dose on an unverified order, in words."""

    given_at: datetime
    unit_name: str
    resident: str
    medication: str
    given_by: str
    second_person: str
    reason: str


@dataclass(frozen=True, slots=True)
class ComplianceData:
    facility: Facility
    since: datetime
    until: datetime
    scope: str  # the unit's name, or "All units you may see"
    printed_by: User
    printed_at: datetime
    rows: tuple[ComplianceRow, ...]  # per unit: the nurses by name, then the unit's total
    urgent: tuple[UrgentLine, ...]


@dataclass
class _Tally:
    recorded: int = 0
    given: int = 0
    wristband: int = 0
    medication: int = 0
    urgent: int = 0
    overrides: dict[str, int] = field(default_factory=dict)

    def add(self, other: _Tally) -> None:
        self.recorded += other.recorded
        self.given += other.given
        self.wristband += other.wristband
        self.medication += other.medication
        self.urgent += other.urgent
        for code, count in other.overrides.items():
            self.overrides[code] = self.overrides.get(code, 0) + count


def compliance_rows(
    records: Iterable[AdministrationRecord],
    overrides: Mapping[str, Sequence[OverrideView]],
    urgent: Iterable[UrgentDose],
    *,
    unit_of: Mapping[str, str],
    unit_names: Mapping[str, str],
    names: Mapping[str, str],
) -> tuple[ComplianceRow, ...]:
    """The rows of the report: for each unit (by name) its nurses (by name), then the unit's
    total. ``unit_of`` maps resident ids to their unit (records of other residents are left
    out); ``names`` user ids to printed names; ``overrides`` dose entry ids to their
    overrides; ``urgent`` the urgent doses of the window (counted for the nurse who gave
    them)."""
    tallies: dict[tuple[str, str], _Tally] = {}
    for record in records:
        unit_id = unit_of.get(record.resident_id)
        if unit_id is None or record.voided:
            continue
        tally = tallies.setdefault((unit_id, record.actor_user_id), _Tally())
        tally.recorded += 1
        accepted = {o.code for o in overrides.get(record.entry_id, ())}
        for code in accepted:
            tally.overrides[code] = tally.overrides.get(code, 0) + 1
        if record.outcome == Outcome.GIVEN:
            tally.given += 1
            tally.wristband += "wristband_not_scanned" not in accepted
            tally.medication += "medication_not_scanned" not in accepted
    for dose in urgent:
        unit_id = unit_of.get(dose.resident_id)
        if unit_id is not None:
            tallies.setdefault((unit_id, dose.given_by_user_id), _Tally()).urgent += 1
    rows: list[ComplianceRow] = []
    for unit_id in sorted({u for u, _ in tallies}, key=lambda u: (unit_names.get(u, u), u)):
        unit_name = unit_names.get(unit_id, unit_id)
        total = _Tally()
        people = sorted(
            (user_id for u, user_id in tallies if u == unit_id),
            key=lambda user_id: (names.get(user_id, user_id), user_id),
        )
        for user_id in people:
            tally = tallies[(unit_id, user_id)]
            total.add(tally)
            rows.append(_row(unit_id, unit_name, user_id, names.get(user_id, user_id), tally))
        rows.append(_row(unit_id, unit_name, "", f"All nurses on {unit_name}", total))
    return tuple(rows)


def _row(unit_id: str, unit_name: str, user_id: str, name: str, tally: _Tally) -> ComplianceRow:
    return ComplianceRow(
        unit_id, unit_name, user_id, name, tally.recorded, tally.given, tally.wristband,
        tally.medication, dict(tally.overrides), tally.urgent,
    )


def urgent_lines(
    urgent: Iterable[UrgentDose],
    *,
    residents: Mapping[str, Resident],
    unit_names: Mapping[str, str],
    medications: Mapping[str, str],
    names: Mapping[str, str],
) -> tuple[UrgentLine, ...]:
    """The urgent doses of residents in ``residents``, oldest first, in words."""
    out = []
    for dose in sorted(urgent, key=lambda d: d.recorded_at):
        resident = residents.get(dose.resident_id)
        if resident is None:
            continue
        out.append(
            UrgentLine(
                dose.recorded_at,
                unit_names.get(resident.unit_id, resident.unit_id),
                f"{resident.room} {resident.display_name}",
                medications.get(dose.order_id, "Medication"),
                names.get(dose.given_by_user_id, dose.given_by_user_id),
                dose.second_name,
                dose.reason,
            )
        )
    return tuple(out)


__all__ = [
    "ComplianceData",
    "ComplianceRow",
    "UrgentLine",
    "compliance_rows",
    "urgent_lines",
]
