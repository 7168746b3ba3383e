"""Overrides: the warnings a nurse accepted at the bedside to give a dose, as part of the record.

An override is (code, reason, who). The codes:

- ``allergy``: the resident's allergy warning was acknowledged (the reason is the warning);
- ``wristband_not_scanned``: identity confirmed by hand, for a reason from the facility list;
- ``medication_not_scanned``: the medication checked by hand, for a reason from that list;
- ``outside_window``: a scheduled dose given outside its window, with the reason typed;
- ``prn_indication``: a PRN dose given at a score outside the order's indication range.

:func:`collect` builds the list for one dose from what the checks found and what the nurse
gave as reasons; :func:`check_bypass_reason` refuses a by-hand confirmation without a reason
from the list. :func:`legacy_overrides` derives the overrides of a dose recorded before
overrides were their own entry, from the old body's fields (``scan`` flags and
``outside_window_reason``). Pure; any thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mar_desktop.errors import RuleViolation
from mar_desktop.model import (
    DEFAULT_SCAN_BYPASS_REASONS,
    PrnIndication,
    ScanBypassReason,
    ScanTarget,
)

OverrideCode = Literal[
    "allergy",
    "wristband_not_scanned",
    "medication_not_scanned",
    "outside_window",
    "prn_indication",
]

OVERRIDE_LABELS: dict[str, str] = {
    "allergy": "Allergy warning acknowledged",
    "wristband_not_scanned": "Wristband not scanned: identity confirmed by hand",
    "medication_not_scanned": "Medication not scanned: checked by hand",
    "outside_window": "Given outside the time window",
    "prn_indication": "Given outside the order's PRN indication",
    "urgent_unverified": "Urgent dose on an order awaiting verification",
}
"""Every override code in words (the history, the printouts, the exports and the report show
these, never the code). ``urgent_unverified`` is recorded by its own entry kind."""


def override_label(code: str) -> str:
    """``code`` in words; an unknown code (a newer version's) says so, never shows raw."""
    return OVERRIDE_LABELS.get(code, "Warning accepted (recorded by a newer version)")


BypassTarget = ScanTarget
BypassReason = ScanBypassReason
DEFAULT_BYPASS_REASONS: tuple[BypassReason, ...] = DEFAULT_SCAN_BYPASS_REASONS
"""The default facility list (``FacilitySettings.scan_bypass_reasons``)."""


def bypass_choices(
    target: BypassTarget, reasons: Sequence[BypassReason] = DEFAULT_BYPASS_REASONS
) -> tuple[BypassReason, ...]:
    """The reasons offered for bypassing the ``target`` scan, in list order."""
    return tuple(r for r in reasons if target in r.applies_to)


_FIELD = {"wristband": "bypass_wristband", "medication": "bypass_medication"}


def check_bypass_reason(
    target: BypassTarget,
    code: str,
    reasons: Sequence[BypassReason] = DEFAULT_BYPASS_REASONS,
) -> BypassReason:
    """The reason ``code`` for bypassing the ``target`` scan. Raises RuleViolation
    ``bypass_reason_required`` (none given) or ``bypass_reason_unknown`` (not one of the list
    for that scan), with ``field`` ``bypass_wristband`` or ``bypass_medication``."""
    what = "wristband" if target == "wristband" else "medication"
    code = code.strip()
    if not code:
        raise RuleViolation(
            f"Choose why the {what} was not scanned.",
            code="bypass_reason_required",
            field=_FIELD[target],
        )
    for reason in bypass_choices(target, reasons):
        if reason.code == code:
            return reason
    raise RuleViolation(
        f"Choose why the {what} was not scanned from the facility's list.",
        code="bypass_reason_unknown",
        field=_FIELD[target],
    )


def check_prn_indication(
    indication: PrnIndication | None, pain_score: int | None, reason: str
) -> str:
    """The PRN-indication override reason for a PRN dose given at ``pain_score`` against the
    order's ``indication``; "" when there is nothing to override (no indication, or the score
    inside it). A score outside the range, or no score at all (it cannot be checked: the most
    restrictive reading), needs ``reason``; the override's reason then says the score, the
    range and why. Raises RuleViolation ``prn_indication`` (field ``prn_indication``)."""
    if indication is None:
        return ""
    if pain_score is not None and indication.minimum <= pain_score <= indication.maximum:
        return ""
    score = "no score recorded" if pain_score is None else f"{indication.scale} {pain_score}"
    why = reason.strip()
    if not why:
        raise RuleViolation(
            f"This dose is ordered for {indication.words} ({score}): say why you give it.",
            code="prn_indication",
            field="prn_indication",
        )
    return f"{score}, ordered for {indication.words}: {why}"


@dataclass(frozen=True, slots=True)
class Accepted:
    """One override before it has a ``who`` (the entry's author adds it)."""

    code: OverrideCode
    reason: str


def collect(
    *,
    allergy_warnings: Iterable[str] = (),
    wristband_bypass: BypassReason | None = None,
    medication_bypass: BypassReason | None = None,
    outside_window_reason: str = "",
    prn_indication_reason: str = "",
) -> list[Accepted]:
    """The overrides of one dose, in a fixed order (allergy, wristband, medication, window,
    PRN indication); empty for a dose given with every check passed. Each has a reason: the
    allergy warnings themselves, the bypass reason's words, or the reason typed."""
    found: list[Accepted] = []
    warnings = "; ".join(w.strip() for w in allergy_warnings if w.strip())
    if warnings:
        found.append(Accepted("allergy", warnings))
    if wristband_bypass is not None:
        found.append(Accepted("wristband_not_scanned", wristband_bypass.label))
    if medication_bypass is not None:
        found.append(Accepted("medication_not_scanned", medication_bypass.label))
    if outside_window_reason.strip():
        found.append(Accepted("outside_window", outside_window_reason.strip()))
    if prn_indication_reason.strip():
        found.append(Accepted("prn_indication", prn_indication_reason.strip()))
    return found


LEGACY_REASON = "No reason recorded (recorded before reasons were asked)"


def legacy_overrides(body: Mapping[str, Any]) -> list[Accepted]:
    """The overrides a dose recorded without an overrides entry shows, from the JSON body of its
    ``administration.recorded`` entry: a given dose whose wristband or medication was not
    scanned, and any outside-window reason. An allergy acknowledgement was not stored then."""
    found: list[Accepted] = []
    scan = body.get("scan") or {}
    if body.get("outcome") == "given":
        if not scan.get("wristband_scanned"):
            found.append(Accepted("wristband_not_scanned", LEGACY_REASON))
        if not scan.get("medication_scanned"):
            found.append(Accepted("medication_not_scanned", LEGACY_REASON))
    window = str(body.get("outside_window_reason") or "").strip()
    if window:
        found.append(Accepted("outside_window", window))
    return found
