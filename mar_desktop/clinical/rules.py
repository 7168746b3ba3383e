"""The clinical rules (docs/architecture.md#clinical-defaults) as pure functions (no I/O, any
thread).

A rule that refuses raises :class:`~mar_desktop.errors.RuleViolation` with a stable ``code`` (the
UI and services branch on the code, never on the message; messages are safe to show and log and
carry no PHI). A rule that only informs returns a small frozen result instead.

Codes raised here: ``outside_window``, ``not_scheduled``, ``order_inactive``, ``order_held``,
``prn_reason``, ``prn_interval``, ``prn_daily_max``, ``witness_required``,
``witness_same_person``, ``witness_inactive``, ``witness_unlicensed``, ``vitals_required``,
``hold_parameters``, ``amend_not_author``, ``amend_window_closed``, ``amend_voided``,
``void_role``, ``void_reason``, ``already_voided``, ``already_given``, ``reason_required``,
``reason_invalid``, ``wrong_resident``.

Times are aware UTC ``datetime``. Boundaries are stated on each function and tested exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal

from mar_desktop.clinical.allergies import AllergyMatch, allergy_matches
from mar_desktop.clinical.schedule import is_scheduled_slot
from mar_desktop.clinical.windows import dose_window, in_window
from mar_desktop.clinical.witness import may_witness
from mar_desktop.errors import RuleViolation, ValidationError
from mar_desktop.model import (
    WITNESS_LICENCE,
    Facility,
    FacilitySettings,
    HoldParameter,
    Order,
    Outcome,
    Resident,
    Role,
    User,
)
from mar_desktop.permissions import Permission, allowed
from mar_desktop.views import AdministrationRecord, OrderState

NOTE_AMEND_WINDOW = timedelta(hours=2)
_DAY = timedelta(hours=24)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


# ---- window -------------------------------------------------------------------------------------
def check_outside_window(
    order: Order,
    scheduled_for: datetime,
    administered_at: datetime,
    outside_window_reason: str,
    settings: FacilitySettings,
) -> bool:
    """Whether ``administered_at`` lies outside the dose's window (both ends are inside).

    Outside the window a non-blank ``outside_window_reason`` is needed, else
    ``RuleViolation(code="outside_window")``. Returns True when outside (and explained).
    """
    window = dose_window(order, scheduled_for, settings)
    if in_window(window, administered_at):
        return False
    if _blank(outside_window_reason):
        early = administered_at < window[0]
        raise RuleViolation(
            "This dose is "
            + ("before" if early else "after")
            + " its administration window; give a reason for the time.",
            code="outside_window",
        )
    return True


def check_scheduled_dose(
    state: OrderState,
    scheduled_for: datetime,
    facility: Facility,
    *,
    outcome: Outcome = Outcome.GIVEN,
) -> None:
    """``scheduled_for`` must be one of the order's scheduled times (``not_scheduled``); a dose
    that falls in an order hold cannot be recorded as GIVEN (``order_held``; other outcomes may
    still be documented)."""
    if state.order.is_prn or not is_scheduled_slot(state, scheduled_for, facility.zone):
        stopped = _not_running(state, scheduled_for)
        if stopped is not None:  # a slot after the order stopped: say why, not "no such dose"
            raise stopped
        raise RuleViolation("This time is not a scheduled dose of the order.", code="not_scheduled")
    if outcome == Outcome.GIVEN and state.held_at(scheduled_for):
        raise RuleViolation("The order is on hold for this dose.", code="order_held")


def check_order_running(state: OrderState, administered_at: datetime) -> None:
    """A dose may be given only while the order runs: from its start, before its end and its
    discontinuation (``order_inactive``), and not during a hold (``order_held``)."""
    if state.held_at(administered_at):
        raise RuleViolation("The order is on hold.", code="order_held")
    stopped = _not_running(state, administered_at)
    if stopped is not None:
        raise stopped


def _not_running(state: OrderState, moment: datetime) -> RuleViolation | None:
    """``order_inactive`` naming why the order does not run at ``moment`` (discontinued,
    replaced, ended, not started yet), or None while it runs (holds aside)."""
    order = state.order
    if state.discontinued_at is not None and moment >= state.discontinued_at:
        if state.replaced_by is not None:
            why = "This order was replaced by a changed order; give the new order instead."
        else:
            why = "This order was discontinued; its doses are no longer given."
    elif order.end is not None and moment >= order.end:
        why = "This order has ended; its doses are no longer given."
    elif moment < order.start:
        why = "This order has not started yet."
    else:
        return None
    return RuleViolation(why, code="order_inactive")


# ---- PRN ----------------------------------------------------------------------------------------
def _counted(records: Iterable[AdministrationRecord], order_id: str) -> list[datetime]:
    return sorted(
        r.administered_at for r in records if r.order_id == order_id and r.counts_as_given
    )


def check_prn_reason(prn_reason: str) -> None:
    """A PRN record needs the reason it was given or offered (``prn_reason``)."""
    if _blank(prn_reason):
        raise RuleViolation("A PRN dose needs a reason (e.g. pain, anxiety).", code="prn_reason")


def check_prn_limits(
    order: Order, records: Iterable[AdministrationRecord], administered_at: datetime
) -> None:
    """PRN minimum interval and 24-hour maximum for a new GIVEN dose at ``administered_at``.

    Only counted doses (GIVEN, not voided) of the same order count.

    * Interval: every counted dose must be at least ``prn_min_interval_minutes`` away from the
      new one (exactly the minimum: allowed; one second less: ``prn_interval``). Doses recorded
      later for an earlier time (late charting) are checked in both directions.
    * Maximum: the counted doses in ``(t − 24 h, t]`` plus the new one may not exceed
      ``prn_max_doses_24h`` (``prn_daily_max``), for ``t`` the new dose's time and, for late
      charting, every later counted dose less than 24 h after it.
    """
    if not order.is_prn:
        raise ValueError("PRN limits apply to PRN orders only")
    schedule = order.schedule
    doses = _counted(records, order.order_id)
    minimum = schedule.prn_min_interval_minutes
    if minimum:
        gap = timedelta(minutes=minimum)
        for dose in doses:
            if abs(administered_at - dose) < gap:
                raise RuleViolation(
                    f"The minimum interval between doses ({_duration(gap)}) has not passed.",
                    code="prn_interval",
                )
    maximum = schedule.prn_max_doses_24h
    if maximum is not None:
        with_new = sorted([*doses, administered_at])
        ends = [t for t in with_new if administered_at <= t < administered_at + _DAY]
        for end in ends:
            count = sum(1 for t in with_new if end - _DAY < t <= end)
            if count > maximum:
                raise RuleViolation(
                    f"The 24-hour maximum of {maximum} dose(s) would be exceeded.",
                    code="prn_daily_max",
                )


def prn_next_allowed_at(
    order: Order, records: Iterable[AdministrationRecord], now: datetime
) -> datetime | None:
    """Earliest time at or after ``now`` when another dose meets the interval and the daily
    maximum, counting doses up to ``now``; None if it is allowed at ``now``."""
    if not order.is_prn:
        raise ValueError("PRN limits apply to PRN orders only")
    doses = [t for t in _counted(records, order.order_id) if t <= now]
    candidates = [now]
    minimum = order.schedule.prn_min_interval_minutes
    if minimum and doses:
        candidates.append(doses[-1] + timedelta(minutes=minimum))
    maximum = order.schedule.prn_max_doses_24h
    recent = [t for t in doses if now - _DAY < t]
    if maximum is not None and len(recent) >= maximum:
        # The oldest dose that must drop out of the 24-hour window first.
        candidates.append(recent[len(recent) - maximum] + _DAY)
    earliest = max(candidates)
    return None if earliest == now else earliest


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


# ---- witness ------------------------------------------------------------------------------------
def check_witness(order: Order, actor_user_id: str, witness: User | None) -> None:
    """Schedule II (``order.needs_witness``) needs a witness (``witness_required``). Any witness
    given must be someone else (``witness_same_person``), active (``witness_inactive``) and
    licensed to witness (``witness_unlicensed``, :func:`~mar_desktop.clinical.witness.
    may_witness`: a pharmacist may witness too)."""
    if witness is None:
        if order.needs_witness:
            raise RuleViolation(
                "A Schedule II medication needs a second licensed person as witness.",
                code="witness_required",
            )
        return
    if witness.user_id == actor_user_id:
        raise RuleViolation("The witness must be a different person.", code="witness_same_person")
    if not witness.active:
        raise RuleViolation("The witness's account is not active.", code="witness_inactive")
    if not may_witness(witness):
        raise RuleViolation(WITNESS_LICENCE, code="witness_unlicensed")


# ---- hold parameters ----------------------------------------------------------------------------
VITAL_LABELS: dict[str, str] = {
    "pulse": "pulse",
    "systolic_bp": "systolic BP",
    "diastolic_bp": "diastolic BP",
    "glucose": "glucose",
    "respiratory_rate": "respiratory rate",
    "spo2": "SpO2",
    "temperature": "temperature",
}


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class HoldReason:
    parameter: HoldParameter
    value: Decimal
    direction: Literal["below", "above"]

    @property
    def limit(self) -> Decimal:
        limit = self.parameter.minimum if self.direction == "below" else self.parameter.maximum
        assert limit is not None
        return limit

    @property
    def text(self) -> str:
        """E.g. ``"pulse 52 below 60"``."""
        label = VITAL_LABELS.get(self.parameter.vital, self.parameter.vital)
        return f"{label} {_num(self.value)} {self.direction} {_num(self.limit)}"


@dataclass(frozen=True, slots=True)
class HoldDecision:
    """The outcome of checking an order's hold parameters against the vitals taken."""

    decision: Literal["give", "hold"]
    reasons: tuple[HoldReason, ...] = ()

    @property
    def hold(self) -> bool:
        return self.decision == "hold"

    @property
    def reason(self) -> str:
        """Human reason, e.g. ``"pulse 52 below 60; glucose 65 below 70"``; empty to give."""
        return "; ".join(r.text for r in self.reasons)


GIVE = HoldDecision("give")

VitalsInput = Mapping[str, Decimal | str | int | None]


def _vital(vitals: VitalsInput | object, name: str) -> Decimal | None:
    raw = vitals.get(name) if isinstance(vitals, Mapping) else getattr(vitals, name, None)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, Decimal):
        value = raw
    else:
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValidationError(
                f"The {VITAL_LABELS.get(name, name)} value is not a number."
            ) from None
    if not value.is_finite():
        raise ValidationError(f"The {VITAL_LABELS.get(name, name)} value is not a number.")
    return value


def missing_vitals(order: Order, vitals: VitalsInput | object) -> tuple[str, ...]:
    """The vital names (model names, e.g. ``"pulse"``) the order's hold parameters need that
    ``vitals`` lacks."""
    needed = dict.fromkeys(p.vital for p in order.hold_parameters)
    return tuple(name for name in needed if _vital(vitals, name) is None)


def evaluate_hold_parameters(order: Order, vitals: VitalsInput | object) -> HoldDecision:
    """Checks ``vitals`` (a mapping of vital name to number or decimal string, or an object with
    those attributes such as ``kinds.Vitals``) against ``order.hold_parameters``.

    Every vital a parameter names must be present, else ``RuleViolation(code="vitals_required")``
    naming them. A value strictly below a minimum or strictly above a maximum gives decision
    ``"hold"`` with the reasons (at the limit itself: give). No parameters: ``"give"``.
    A value that is not a number raises :class:`ValidationError`.
    """
    if not order.hold_parameters:
        return GIVE
    missing = missing_vitals(order, vitals)
    if missing:
        labels = ", ".join(VITAL_LABELS.get(n, n) for n in missing)
        raise RuleViolation(f"Vitals needed before this dose: {labels}.", code="vitals_required")
    values = {p.vital: _vital(vitals, p.vital) for p in order.hold_parameters}
    reasons: list[HoldReason] = []
    for parameter in order.hold_parameters:
        value = values[parameter.vital]
        assert value is not None
        if parameter.minimum is not None and value < parameter.minimum:
            reasons.append(HoldReason(parameter, value, "below"))
        elif parameter.maximum is not None and value > parameter.maximum:
            reasons.append(HoldReason(parameter, value, "above"))
    return HoldDecision("hold", tuple(reasons)) if reasons else GIVE


def check_hold_outcome(decision: HoldDecision, outcome: Outcome) -> None:
    """Recording GIVEN against a "hold" decision is refused (``hold_parameters``); HELD is the
    expected outcome, and the other non-given outcomes are allowed."""
    if decision.hold and outcome == Outcome.GIVEN:
        raise RuleViolation(
            f"Hold parameters not met ({decision.reason}); record the dose as held.",
            code="hold_parameters",
        )


# ---- notes and voids ----------------------------------------------------------------------------
def check_note_amendment(record: AdministrationRecord, user_id: str, at: datetime) -> None:
    """A note is amended only by the original entry's author (``amend_not_author``), up to and
    including 2 hours after the entry's ``recorded_at`` (2:00:00 allowed, 2:00:01 refused:
    ``amend_window_closed``), and never on a voided entry (``amend_voided``)."""
    if user_id != record.actor_user_id:
        raise RuleViolation(
            "Only the person who recorded the entry may amend its note.", code="amend_not_author"
        )
    if record.voided:
        raise RuleViolation("A voided entry cannot be amended.", code="amend_voided")
    if at - record.recorded_at > NOTE_AMEND_WINDOW:
        raise RuleViolation(
            "Notes can be amended only within 2 hours of the original entry.",
            code="amend_window_closed",
        )


def check_void(role: Role, reason: str, *, already_voided: bool) -> None:
    """A void needs a role allowed to void (nurse, facility admin: ``void_role``), a target not
    voided yet (``already_voided``) and a non-blank reason (``void_reason``)."""
    if not allowed(role, Permission.VOID_ENTRY):
        raise RuleViolation(
            "Only a nurse or facility administrator may mark an entry as entered in error.",
            code="void_role",
        )
    if already_voided:
        raise RuleViolation("This entry is already voided.", code="already_voided")
    if _blank(reason):
        raise RuleViolation("Give a reason for voiding the entry.", code="void_reason")


# ---- duplicates and reason codes ----------------------------------------------------------------
def check_not_already_given(
    order_id: str, scheduled_for: datetime, records: Iterable[AdministrationRecord]
) -> None:
    """Refuses any new recording for a scheduled dose that already has a non-voided GIVEN record
    of the same order at exactly ``scheduled_for`` (``already_given``). Void that record first
    if it was wrong."""
    for record in records:
        if (
            record.order_id == order_id
            and record.scheduled_for == scheduled_for
            and record.counts_as_given
        ):
            raise RuleViolation("This dose has already been given.", code="already_given")


def check_reason_code(
    outcome: Outcome, reason_code: str | None, settings: FacilitySettings
) -> None:
    """Non-given outcomes need a reason code (``reason_required``) from the facility's list that
    is valid for that outcome (``reason_invalid``). GIVEN needs none; one given anyway must be
    valid for GIVEN."""
    if reason_code is None or not reason_code.strip():
        if outcome == Outcome.GIVEN:
            return
        raise RuleViolation("Choose a reason for this outcome.", code="reason_required")
    for candidate in settings.reason_codes:
        if candidate.code == reason_code and (
            not candidate.outcomes or outcome in candidate.outcomes
        ):
            return
    raise RuleViolation("This reason code is not valid for this outcome.", code="reason_invalid")


# ---- everything for one administration ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AdministrationCheck:
    """What passed checks still tell the nurse: allergy warnings, the hold decision, the window
    and whether the time was outside it (with the reason given)."""

    allergy_matches: tuple[AllergyMatch, ...]
    hold: HoldDecision
    window: tuple[datetime, datetime] | None  # None for PRN
    outside_window: bool


def check_administration(
    *,
    order_state: OrderState,
    resident: Resident,
    facility: Facility,
    outcome: Outcome,
    administered_at: datetime,
    scheduled_for: datetime | None,
    actor_user_id: str,
    records: Iterable[AdministrationRecord],
    reason_code: str | None = None,
    outside_window_reason: str = "",
    prn_reason: str = "",
    witness: User | None = None,
    vitals: VitalsInput | object = None,
) -> AdministrationCheck:
    """Every rule for recording one administration, in this order; the first failure raises.

    1. The order is the resident's (``wrong_resident``).
    2. Scheduled order: ``scheduled_for`` is one of its doses (``not_scheduled``), and for GIVEN
       not in an order hold (``order_held``); PRN: ``scheduled_for`` is None
       (``not_scheduled``), a ``prn_reason``, and the order running at ``administered_at``
       (``order_inactive``/``order_held``) whatever the outcome.
    3. Reason code for the outcome (``reason_required``/``reason_invalid``).
    4. Scheduled: not already given (``already_given``).
    5. GIVEN only: order running at ``administered_at`` (``order_inactive``/``order_held``);
       window (``outside_window``); PRN limits (``prn_interval``/``prn_daily_max``); vitals
       and hold parameters (``vitals_required``/``hold_parameters``); witness
       (``witness_*``).
    6. Other outcomes: the hold parameters are evaluated only if every needed vital was taken
       (else the decision is "give", meaning: nothing to hold on); a witness, if given, must
       still be valid.

    Returns the warnings that do not refuse (allergy matches — never empty when one exists).
    ``records`` should hold the order's records (others are ignored).
    """
    order = order_state.order
    settings = facility.settings
    records = list(records)
    if order.resident_id != resident.resident_id:
        raise RuleViolation("This order belongs to another resident.", code="wrong_resident")
    window: tuple[datetime, datetime] | None = None
    if order.is_prn:
        if scheduled_for is not None:
            raise RuleViolation("A PRN order has no scheduled doses.", code="not_scheduled")
        check_prn_reason(prn_reason)
        check_order_running(order_state, administered_at)
    else:
        if scheduled_for is None:
            raise RuleViolation("Choose the scheduled dose being recorded.", code="not_scheduled")
        check_scheduled_dose(order_state, scheduled_for, facility, outcome=outcome)
        window = dose_window(order, scheduled_for, settings)
    check_reason_code(outcome, reason_code, settings)
    if scheduled_for is not None:
        check_not_already_given(order.order_id, scheduled_for, records)

    outside = False
    hold = GIVE
    if outcome == Outcome.GIVEN:
        if scheduled_for is not None:
            check_order_running(order_state, administered_at)
            outside = check_outside_window(
                order, scheduled_for, administered_at, outside_window_reason, settings
            )
        else:
            check_prn_limits(order, records, administered_at)
        hold = evaluate_hold_parameters(order, vitals if vitals is not None else {})
        check_hold_outcome(hold, outcome)
        check_witness(order, actor_user_id, witness)
    else:
        if order.hold_parameters and vitals is not None and not missing_vitals(order, vitals):
            hold = evaluate_hold_parameters(order, vitals)
        if witness is not None:
            check_witness(order, actor_user_id, witness)
    return AdministrationCheck(
        allergy_matches=allergy_matches(resident, order),
        hold=hold,
        window=window,
        outside_window=outside,
    )
