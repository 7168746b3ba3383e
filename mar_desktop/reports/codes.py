"""Codes printed in MAR cells, their legend, and the initials that stand for signatures.

One table (:data:`STATUS_CODES`) says what every mark on a printed MAR means; the legends on the
sheets are rendered from it and from the facility's reason codes, so a code can never appear
without its explanation. Initials come from each user's record; two people with the same
initials get a digit appended (``JS``, ``JS2``) so the legend stays unambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mar_desktop.model import DoseStatus, Outcome, ReasonCode, Role, User
from mar_desktop.views import AdministrationRecord


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    meaning: str


GIVEN_CODE = "G"
VOID_CODE = "X"
MISSED_CODE = "M"
LATE_CODE = "L"
HELD_ORDER_CODE = "OH"
PRN_CODE = "P"

STATUS_CODES: tuple[Code, ...] = (
    Code(GIVEN_CODE, "Given as ordered (initials = who administered)"),
    Code(VOID_CODE, "Entry voided as entered in error (struck through, still readable)"),
    Code(MISSED_CODE, "Missed: no administration documented and the window has passed"),
    Code(LATE_CODE, "Late/open at print time: window passed, not yet documented"),
    Code(HELD_ORDER_CODE, "Order on hold at the scheduled time"),
    Code(PRN_CODE, "PRN (as needed) dose; the number is how many were given that day"),
)

# When a not-given record carries no reason code, the outcome's own code is printed.
OUTCOME_CODES: dict[Outcome, Code] = {
    Outcome.GIVEN: Code(GIVEN_CODE, "Given"),
    Outcome.REFUSED: Code("R", "Refused by resident"),
    Outcome.HELD: Code("H", "Held"),
    Outcome.NOT_AVAILABLE: Code("NA", "Not available"),
    Outcome.AWAY: Code("LOA", "Resident away"),
    Outcome.OTHER: Code("O", "Other (see note)"),
}

# What a signature means, by what the person did (docs/architecture.md#clinical-defaults).
MEANING_ADMINISTERED = "Administered / documented the outcome as recorded"
MEANING_WITNESSED = "Witnessed the administration and any waste"
MEANING_VOIDED = "Marked an entry as entered in error"
MEANING_AMENDED = "Amended the note of an entry"
MEANING_FOLLOWUP = "Assessed PRN effectiveness"

ROLE_LABELS: dict[str, str] = {
    Role.FACILITY_ADMIN.value: "Facility admin",
    Role.DIRECTOR_OF_NURSING.value: "Director of nursing",
    Role.NURSE.value: "Nurse",
    Role.CNA.value: "CNA",
    Role.PHARMACIST.value: "Pharmacist",
    Role.READ_ONLY.value: "Read-only",
}


def record_code(record: AdministrationRecord) -> str:
    """The code printed for a record: ``G`` for given, else its reason code or outcome code."""
    if record.outcome == Outcome.GIVEN:
        return GIVEN_CODE
    return record.reason_code or OUTCOME_CODES[record.outcome].code


def status_code(status: DoseStatus) -> str:
    """The code for a dose with no deciding record (``""``: nothing to print, e.g. upcoming)."""
    return {
        DoseStatus.MISSED: MISSED_CODE,
        DoseStatus.LATE: LATE_CODE,
        DoseStatus.HELD: HELD_ORDER_CODE,
        DoseStatus.VOIDED: VOID_CODE,
    }.get(status, "")


def code_legend(reason_codes: Iterable[ReasonCode]) -> list[Code]:
    """Every code a sheet may print: status codes, outcome codes, then the facility's reasons.

    Duplicates (a facility reason code equal to an outcome code) appear once, facility wording
    winning."""
    merged: dict[str, str] = {c.code: c.meaning for c in STATUS_CODES}
    for code in OUTCOME_CODES.values():
        merged.setdefault(code.code, code.meaning)
    for reason in reason_codes:
        merged[reason.code] = reason.label
    return [Code(code, meaning) for code, meaning in merged.items()]


def initials_map(users: Iterable[User]) -> dict[str, str]:
    """user id → unique initials. Users are taken in user-id order so the result is stable."""
    seen: dict[str, int] = {}
    out: dict[str, str] = {}
    for user in sorted(users, key=lambda u: u.user_id):
        base = user.initials.upper()
        count = seen.get(base, 0) + 1
        seen[base] = count
        out[user.user_id] = base if count == 1 else f"{base}{count}"
    return out


@dataclass(frozen=True, slots=True)
class Signatory:
    """One line of the signature legend."""

    initials: str
    full_name: str
    credentials: str
    role: str
    meanings: tuple[str, ...]


def signature_legend(
    users: Mapping[str, User], initials: Mapping[str, str], meanings: Mapping[str, set[str]]
) -> list[Signatory]:
    """Legend lines for the users in ``meanings`` (user id → meanings), sorted by initials.

    A user id not in ``users`` (e.g. deleted from the projection) is still listed, by id."""
    lines = []
    for user_id, what in meanings.items():
        user = users.get(user_id)
        lines.append(
            Signatory(
                initials=initials.get(user_id, "?"),
                full_name=user.full_name if user else f"(unknown user {user_id})",
                credentials=user.credentials if user else "",
                role=ROLE_LABELS.get(user.role.value, user.role.value) if user else "",
                meanings=tuple(sorted(what)),
            )
        )
    return sorted(lines, key=lambda s: (s.initials, s.full_name))


def collect_signatures(records: Iterable[AdministrationRecord]) -> dict[str, set[str]]:
    """Who signed what in ``records``: actors, witnesses, voiders, amenders (user id → meanings).

    ``voided_by`` is the user id of the person who voided (views contract)."""
    meanings: dict[str, set[str]] = {}
    for record in records:
        meanings.setdefault(record.actor_user_id, set()).add(MEANING_ADMINISTERED)
        if record.witness_user_id:
            meanings.setdefault(record.witness_user_id, set()).add(MEANING_WITNESSED)
        if record.voided and record.voided_by:
            meanings.setdefault(record.voided_by, set()).add(MEANING_VOIDED)
        for amendment in record.amendments:
            meanings.setdefault(amendment.author_user_id, set()).add(MEANING_AMENDED)
    return meanings
