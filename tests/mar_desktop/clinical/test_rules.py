"""The clinical rules with their exact boundaries (issue 2;
docs/architecture.md#clinical-defaults)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from mar_desktop.clinical.rules import (
    HoldDecision,
    check_administration,
    check_hold_outcome,
    check_not_already_given,
    check_note_amendment,
    check_order_running,
    check_outside_window,
    check_prn_limits,
    check_prn_reason,
    check_reason_code,
    check_scheduled_dose,
    check_void,
    check_witness,
    evaluate_hold_parameters,
    missing_vitals,
    prn_next_allowed_at,
)
from mar_desktop.errors import RuleViolation, ValidationError
from mar_desktop.kinds import Vitals
from mar_desktop.model import FacilitySettings, Outcome, ReasonCode, Role
from mar_desktop.views import Interval
from tests.mar_desktop.clinical.factories import (
    every,
    facility,
    fixed,
    hold,
    order,
    prn,
    record,
    resident,
    state,
    user,
    utc,
)

SETTINGS = FacilitySettings()
SEC = timedelta(seconds=1)
TICK = timedelta(microseconds=1)


def violation(code: str) -> pytest.RaisesExc[RuleViolation]:
    return pytest.raises(RuleViolation, check=lambda e: e.code == code)


# ---- window -------------------------------------------------------------------------------------
SLOT = utc(2024, 6, 3, 12)  # 08:00 EDT


def test_inside_window_needs_no_reason_at_both_edges() -> None:
    daily = order(fixed("08:00"))
    for at in (SLOT - timedelta(hours=2), SLOT, SLOT + timedelta(hours=2)):
        assert check_outside_window(daily, SLOT, at, "", SETTINGS) is False


@pytest.mark.parametrize(
    "at",
    [SLOT - timedelta(hours=2) - TICK, SLOT + timedelta(hours=2) + TICK, SLOT + timedelta(days=1)],
)
def test_outside_window_needs_a_reason(at: object) -> None:
    daily = order(fixed("08:00"))
    with violation("outside_window"):
        check_outside_window(daily, SLOT, at, "", SETTINGS)  # type: ignore[arg-type]
    with violation("outside_window"):
        check_outside_window(daily, SLOT, at, "   ", SETTINGS)  # type: ignore[arg-type]
    assert check_outside_window(daily, SLOT, at, "Resident at dialysis", SETTINGS) is True  # type: ignore[arg-type]


def test_outside_window_uses_time_critical_width() -> None:
    tc = order(fixed("08:00"), time_critical=True)
    assert not check_outside_window(tc, SLOT, SLOT + timedelta(minutes=30), "", SETTINGS)
    with violation("outside_window"):
        check_outside_window(tc, SLOT, SLOT + timedelta(minutes=30) + SEC, "", SETTINGS)
    q2h = order(every(2))
    with violation("outside_window"):
        check_outside_window(q2h, SLOT, SLOT - timedelta(minutes=31), "", SETTINGS)


def test_scheduled_dose_must_be_a_slot_and_not_held() -> None:
    fac = facility()
    the_state = state(order(fixed("08:00")))
    check_scheduled_dose(the_state, SLOT, fac)
    with violation("not_scheduled"):
        check_scheduled_dose(the_state, SLOT + timedelta(minutes=1), fac)
    with violation("not_scheduled"):
        check_scheduled_dose(state(order(prn())), SLOT, fac)
    held = state(order(fixed("08:00")), holds=(Interval(SLOT, None),))
    with violation("order_held"):
        check_scheduled_dose(held, SLOT, fac)
    check_scheduled_dose(held, SLOT, fac, outcome=Outcome.HELD)  # documenting it is fine


def test_a_slot_after_the_order_stopped_says_why_it_cannot_be_given() -> None:
    """A tablet that already knows of a discontinuation names it, instead of calling the slot
    "not a scheduled dose"; so do a replaced and an ended order."""
    fac = facility()
    stopped = state(order(fixed("08:00")), discontinued_at=SLOT - TICK)
    with violation("order_inactive") as refused:
        check_scheduled_dose(stopped, SLOT, fac)
    assert "discontinued" in str(refused.value)
    replaced = replace(stopped, replaced_by="ord-2")
    with violation("order_inactive") as refused:
        check_scheduled_dose(replaced, SLOT, fac)
    assert "replaced" in str(refused.value)
    ended = state(order(fixed("08:00"), end=SLOT - TICK))
    with violation("order_inactive") as refused:
        check_scheduled_dose(ended, SLOT, fac)
    assert "ended" in str(refused.value)
    later = state(order(fixed("08:00"), start=SLOT + TICK))
    with violation("order_inactive") as refused:
        check_order_running(later, SLOT)
    assert "not started" in str(refused.value)
    with violation("not_scheduled"):
        check_scheduled_dose(state(order(fixed("08:00"))), SLOT + TICK, fac)


def test_the_stopped_order_messages_and_their_exact_boundaries() -> None:
    fac = facility()
    said = {
        "discontinued": "This order was discontinued; its doses are no longer given.",
        "replaced": "This order was replaced by a changed order; give the new order instead.",
        "ended": "This order has ended; its doses are no longer given.",
        "not started": "This order has not started yet.",
    }
    stopped = state(order(fixed("08:00")), discontinued_at=SLOT)
    with violation("order_inactive") as refused:
        check_scheduled_dose(stopped, SLOT, fac)
    assert str(refused.value) == said["discontinued"]
    with violation("order_inactive") as refused:
        check_scheduled_dose(replace(stopped, replaced_by="ord-2"), SLOT, fac)
    assert str(refused.value) == said["replaced"]
    ended_now = state(order(fixed("08:00"), end=SLOT))  # ends exactly at the slot
    with violation("order_inactive") as refused:
        check_scheduled_dose(ended_now, SLOT, fac)
    assert str(refused.value) == said["ended"]
    starts_now = state(order(fixed("08:00"), start=SLOT))  # starts exactly at the slot: runs
    check_order_running(starts_now, SLOT)
    with violation("order_inactive") as refused:
        check_order_running(starts_now, SLOT - TICK)
    assert str(refused.value) == said["not started"]


def test_order_must_be_running_when_given() -> None:
    start = utc(2024, 6, 1)
    the_state = state(order(fixed("08:00"), start=start), discontinued_at=SLOT)
    check_order_running(the_state, SLOT - TICK)
    with violation("order_inactive"):
        check_order_running(the_state, SLOT)
    with violation("order_inactive"):
        check_order_running(the_state, start - TICK)
    held = state(order(fixed("08:00"), start=start), holds=(Interval(SLOT, None),))
    with violation("order_held"):
        check_order_running(held, SLOT)


# ---- PRN ----------------------------------------------------------------------------------------
T0 = utc(2024, 6, 3, 8)
PRN_ORDER = order(prn(min_interval=240, max_24h=3), order_id="prn-1")


def given(at: object, **kw: object) -> object:
    return record(None, administered_at=at, order_id="prn-1", **kw)  # type: ignore[arg-type]


def test_prn_reason_required() -> None:
    check_prn_reason("pain 6/10")
    for blank in ("", "  \n"):
        with violation("prn_reason"):
            check_prn_reason(blank)


def test_prn_interval_exactly_the_minimum_is_allowed_one_second_less_refused() -> None:
    records = [given(T0)]
    check_prn_limits(PRN_ORDER, records, T0 + timedelta(hours=4))  # type: ignore[arg-type]
    with violation("prn_interval"):
        check_prn_limits(PRN_ORDER, records, T0 + timedelta(hours=4) - SEC)  # type: ignore[arg-type]


def test_prn_interval_checked_against_later_doses_too_late_charting() -> None:
    records = [given(T0)]
    with violation("prn_interval"):
        check_prn_limits(PRN_ORDER, records, T0 - timedelta(hours=4) + SEC)  # type: ignore[arg-type]
    check_prn_limits(PRN_ORDER, records, T0 - timedelta(hours=4))  # type: ignore[arg-type]


def test_prn_voided_refused_and_other_order_doses_do_not_count() -> None:
    records = [
        given(T0, voided=True),
        given(T0 + timedelta(hours=1), outcome=Outcome.REFUSED),
        record(None, administered_at=T0, order_id="other"),
    ]
    check_prn_limits(PRN_ORDER, records, T0 + timedelta(hours=1))  # type: ignore[arg-type]


def test_prn_daily_max_at_the_max_allowed_one_more_refused() -> None:
    records = [given(T0), given(T0 + timedelta(hours=4))]
    third = T0 + timedelta(hours=8)
    check_prn_limits(PRN_ORDER, records, third)  # type: ignore[arg-type]  # 3 of 3
    records.append(given(third))
    with violation("prn_daily_max"):
        check_prn_limits(PRN_ORDER, records, T0 + timedelta(hours=12))  # type: ignore[arg-type]


def test_prn_daily_max_window_is_open_at_t_minus_24h() -> None:
    records = [given(T0), given(T0 + timedelta(hours=4)), given(T0 + timedelta(hours=8))]
    # At exactly T0 + 24 h the first dose has left (t - 24 h, t]: allowed.
    check_prn_limits(PRN_ORDER, records, T0 + timedelta(hours=24))  # type: ignore[arg-type]
    with violation("prn_daily_max"):
        check_prn_limits(PRN_ORDER, records, T0 + timedelta(hours=24) - SEC)  # type: ignore[arg-type]


def test_prn_daily_max_voided_doses_do_not_count() -> None:
    records = [
        given(T0),
        given(T0 + timedelta(hours=4)),
        given(T0 + timedelta(hours=8), voided=True),
    ]
    check_prn_limits(PRN_ORDER, records, T0 + timedelta(hours=12))  # type: ignore[arg-type]


def test_prn_daily_max_late_charted_dose_would_overfill_a_later_window() -> None:
    no_interval = order(prn(min_interval=None, max_24h=2), order_id="prn-1")
    records = [given(T0 + timedelta(hours=10)), given(T0 + timedelta(hours=20))]
    # A dose at T0 + 1 h: its own (t-24h, t] holds 1, but (T0+20h-24h, T0+20h] would hold 3.
    with violation("prn_daily_max"):
        check_prn_limits(no_interval, records, T0 + timedelta(hours=1))  # type: ignore[arg-type]
    check_prn_limits(no_interval, records[:1], T0 + timedelta(hours=1))  # type: ignore[arg-type]


def test_prn_without_limits_and_non_prn_order() -> None:
    unlimited = order(prn(min_interval=None, max_24h=None), order_id="prn-1")
    check_prn_limits(unlimited, [given(T0)] * 10, T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="PRN"):
        check_prn_limits(order(fixed("08:00")), [], T0)


def test_prn_next_allowed_at() -> None:
    assert prn_next_allowed_at(PRN_ORDER, [], T0) is None
    records = [given(T0)]
    assert prn_next_allowed_at(PRN_ORDER, records, T0 + timedelta(hours=1)) == T0 + timedelta(
        hours=4
    )
    assert prn_next_allowed_at(PRN_ORDER, records, T0 + timedelta(hours=4)) is None
    full = [given(T0), given(T0 + timedelta(hours=4)), given(T0 + timedelta(hours=8))]
    assert prn_next_allowed_at(PRN_ORDER, full, T0 + timedelta(hours=12)) == T0 + timedelta(
        hours=24
    )


# ---- witness ------------------------------------------------------------------------------------
CII = order(fixed("08:00"), drug="Oxycodone", controlled_schedule="II")


def test_schedule_ii_needs_a_witness() -> None:
    with violation("witness_required"):
        check_witness(CII, "u-nurse", None)
    check_witness(CII, "u-nurse", user("u-witness", Role.NURSE))
    check_witness(CII, "u-nurse", user("u-admin", Role.FACILITY_ADMIN, credentials="RN"))
    check_witness(CII, "u-nurse", user("u-admin", Role.FACILITY_ADMIN, credentials="BSN, RN"))


@pytest.mark.parametrize("credentials", ["", "MBA", "CNA", "RNX"])
def test_a_facility_admin_witnesses_only_with_a_nursing_licence(credentials: str) -> None:
    with violation("witness_unlicensed"):
        check_witness(
            CII, "u-nurse", user("u-admin", Role.FACILITY_ADMIN, credentials=credentials)
        )


def test_witness_same_person_refused() -> None:
    with violation("witness_same_person"):
        check_witness(CII, "u-nurse", user("u-nurse", Role.NURSE))


@pytest.mark.parametrize("role", [Role.CNA, Role.READ_ONLY])
def test_witness_unlicensed_refused(role: Role) -> None:
    with violation("witness_unlicensed"):
        check_witness(CII, "u-nurse", user("u-other", role))


def test_witness_inactive_refused() -> None:
    with violation("witness_inactive"):
        check_witness(CII, "u-nurse", user("u-other", Role.NURSE, active=False))


def test_other_schedules_need_no_witness_but_a_given_one_is_checked() -> None:
    for schedule in (None, "III", "IV", "V"):
        check_witness(order(controlled_schedule=schedule), "u-nurse", None)
    with violation("witness_unlicensed"):
        check_witness(order(controlled_schedule="III"), "u-nurse", user("u-cna", Role.CNA))


# ---- hold parameters ----------------------------------------------------------------------------
METOPROLOL = order(
    fixed("08:00"),
    hold_parameters=(hold("pulse", minimum="60"), hold("systolic_bp", minimum="100")),
)
INSULIN = order(
    fixed("08:00"), drug="Insulin lispro", hold_parameters=(hold("glucose", minimum="70"),)
)


def test_low_pulse_yields_hold_with_human_reason() -> None:
    decision = evaluate_hold_parameters(METOPROLOL, {"pulse": "52", "systolic_bp": "120"})
    assert decision.hold
    assert decision.decision == "hold"
    assert decision.reason == "pulse 52 below 60"
    [reason] = decision.reasons
    assert (reason.parameter.vital, reason.value, reason.limit) == (
        "pulse",
        Decimal(52),
        Decimal(60),
    )


def test_low_glucose_yields_hold() -> None:
    decision = evaluate_hold_parameters(INSULIN, Vitals(glucose=Decimal("65")))
    assert decision.reason == "glucose 65 below 70"


def test_values_at_limits_give() -> None:
    assert not evaluate_hold_parameters(METOPROLOL, {"pulse": 60, "systolic_bp": "100.0"}).hold
    high = order(hold_parameters=(hold("systolic_bp", maximum="160"),))
    assert not evaluate_hold_parameters(high, {"systolic_bp": "160"}).hold
    above = evaluate_hold_parameters(high, {"systolic_bp": "160.5"})
    assert above.reason == "systolic BP 160.5 above 160"


def test_several_limits_broken_all_named() -> None:
    decision = evaluate_hold_parameters(METOPROLOL, {"pulse": "48", "systolic_bp": "88"})
    assert decision.reason == "pulse 48 below 60; systolic BP 88 below 100"


def test_missing_vitals_refused_naming_which() -> None:
    with pytest.raises(RuleViolation) as caught:
        evaluate_hold_parameters(METOPROLOL, {"pulse": "72"})
    assert caught.value.code == "vitals_required"
    assert "systolic BP" in str(caught.value)
    assert "pulse" not in str(caught.value)
    with pytest.raises(RuleViolation, match="pulse, systolic BP") as both:
        evaluate_hold_parameters(METOPROLOL, Vitals())
    assert both.value.code == "vitals_required"
    with violation("vitals_required"):
        evaluate_hold_parameters(INSULIN, {"glucose": " "})
    assert missing_vitals(METOPROLOL, {"pulse": "72"}) == ("systolic_bp",)


def test_non_numeric_vital_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        evaluate_hold_parameters(INSULIN, {"glucose": "high"})
    with pytest.raises(ValidationError):
        evaluate_hold_parameters(INSULIN, {"glucose": "NaN"})


def test_no_hold_parameters_gives_without_vitals() -> None:
    assert evaluate_hold_parameters(order(), {}) == HoldDecision("give")


def test_given_against_hold_refused_held_expected() -> None:
    decision = evaluate_hold_parameters(INSULIN, {"glucose": "65"})
    with violation("hold_parameters"):
        check_hold_outcome(decision, Outcome.GIVEN)
    for outcome in (Outcome.HELD, Outcome.REFUSED, Outcome.OTHER):
        check_hold_outcome(decision, outcome)
    check_hold_outcome(HoldDecision("give"), Outcome.GIVEN)


# ---- notes --------------------------------------------------------------------------------------
ENTRY_AT = utc(2024, 6, 3, 12, 5)


@pytest.mark.parametrize(
    "after", [timedelta(0), timedelta(hours=1, minutes=59, seconds=59), timedelta(hours=2)]
)
def test_note_amendment_by_author_within_two_hours(after: timedelta) -> None:
    rec = record(SLOT, recorded_at=ENTRY_AT, actor_user_id="u-author")
    check_note_amendment(rec, "u-author", ENTRY_AT + after)


@pytest.mark.parametrize("after", [timedelta(hours=2, seconds=1), timedelta(hours=2, minutes=1)])
def test_note_amendment_after_two_hours_refused(after: timedelta) -> None:
    rec = record(SLOT, recorded_at=ENTRY_AT, actor_user_id="u-author")
    with violation("amend_window_closed"):
        check_note_amendment(rec, "u-author", ENTRY_AT + after)


def test_note_amendment_at_1_59_allowed_and_2_01_refused() -> None:
    rec = record(SLOT, recorded_at=ENTRY_AT, actor_user_id="u-author")
    check_note_amendment(rec, "u-author", ENTRY_AT + timedelta(hours=1, minutes=59))
    with violation("amend_window_closed"):
        check_note_amendment(rec, "u-author", ENTRY_AT + timedelta(hours=2, minutes=1))


def test_note_amendment_by_someone_else_refused_even_in_window() -> None:
    rec = record(SLOT, recorded_at=ENTRY_AT, actor_user_id="u-author")
    with violation("amend_not_author"):
        check_note_amendment(rec, "u-other", ENTRY_AT + timedelta(minutes=1))


def test_note_of_voided_entry_cannot_be_amended() -> None:
    rec = record(SLOT, recorded_at=ENTRY_AT, actor_user_id="u-author", voided=True)
    with violation("amend_voided"):
        check_note_amendment(rec, "u-author", ENTRY_AT + timedelta(minutes=1))


# ---- voids --------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.NURSE, Role.FACILITY_ADMIN])
def test_void_by_nurse_or_admin_with_reason(role: Role) -> None:
    check_void(role, "Charted on the wrong resident", already_voided=False)


@pytest.mark.parametrize("role", [Role.CNA, Role.READ_ONLY])
def test_void_role_refused(role: Role) -> None:
    with violation("void_role"):
        check_void(role, "Charted on the wrong resident", already_voided=False)


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_void_reason_required(reason: str) -> None:
    with violation("void_reason"):
        check_void(Role.NURSE, reason, already_voided=False)


def test_void_twice_refused() -> None:
    with violation("already_voided"):
        check_void(Role.NURSE, "again", already_voided=True)


# ---- already given, reason codes ----------------------------------------------------------------
def test_already_given_refused_unless_voided_or_other_dose() -> None:
    with violation("already_given"):
        check_not_already_given("ord-1", SLOT, [record(SLOT)])
    check_not_already_given("ord-1", SLOT, [record(SLOT, voided=True)])
    check_not_already_given("ord-1", SLOT, [record(SLOT, Outcome.REFUSED)])
    check_not_already_given("ord-1", SLOT, [record(SLOT + timedelta(days=1))])
    check_not_already_given("ord-1", SLOT, [record(SLOT, order_id="ord-2")])


def test_reason_codes_per_outcome() -> None:
    check_reason_code(Outcome.GIVEN, None, SETTINGS)
    check_reason_code(Outcome.REFUSED, "R", SETTINGS)
    check_reason_code(Outcome.HELD, "H", SETTINGS)
    check_reason_code(Outcome.AWAY, "LOA", SETTINGS)
    for outcome in (
        Outcome.REFUSED,
        Outcome.HELD,
        Outcome.NOT_AVAILABLE,
        Outcome.AWAY,
        Outcome.OTHER,
    ):
        for missing in (None, "", "  "):
            with violation("reason_required"):
                check_reason_code(outcome, missing, SETTINGS)
    with violation("reason_invalid"):
        check_reason_code(Outcome.REFUSED, "H", SETTINGS)  # a held code for a refusal
    with violation("reason_invalid"):
        check_reason_code(Outcome.REFUSED, "XYZ", SETTINGS)
    with violation("reason_invalid"):
        check_reason_code(Outcome.GIVEN, "R", SETTINGS)
    with violation("reason_invalid"):
        check_reason_code(Outcome.REFUSED, "r", SETTINGS)  # codes are exact


def test_reason_code_for_any_outcome_from_facility_list() -> None:
    settings = FacilitySettings(reason_codes=(ReasonCode(code="X", label="Any"),))
    for outcome in Outcome:
        check_reason_code(outcome, "X", settings)


# ---- check_administration ----------------------------------------------------------------------
FAC = facility()


def administer(the_state: object, **kw: object) -> object:
    args: dict[str, object] = {
        "order_state": the_state,
        "resident": resident(),
        "facility": FAC,
        "outcome": Outcome.GIVEN,
        "administered_at": SLOT,
        "scheduled_for": SLOT,
        "actor_user_id": "u-nurse",
        "records": [],
    }
    args.update(kw)
    return check_administration(**args)  # type: ignore[arg-type]


def test_check_administration_happy_path_with_allergy_warning() -> None:
    the_state = state(order(fixed("08:00"), drug="Amoxicillin"))
    result = administer(the_state, resident=resident("Penicillin"))
    assert [m.kind for m in result.allergy_matches] == ["class"]  # type: ignore[attr-defined]
    assert result.window == (utc(2024, 6, 3, 10), utc(2024, 6, 3, 14))  # type: ignore[attr-defined]
    assert result.outside_window is False  # type: ignore[attr-defined]


def test_check_administration_refusals_in_order() -> None:
    the_state = state(order(fixed("08:00")))
    with violation("wrong_resident"):
        administer(state(order(fixed("08:00"), resident_id="res-2")))
    with violation("not_scheduled"):
        administer(the_state, scheduled_for=None)
    with violation("not_scheduled"):
        administer(the_state, scheduled_for=SLOT + SEC)
    with violation("reason_required"):
        administer(the_state, outcome=Outcome.REFUSED)
    with violation("already_given"):
        administer(the_state, records=[record(SLOT)])
    with violation("outside_window"):
        administer(the_state, administered_at=SLOT + timedelta(hours=3))
    late = administer(
        the_state, administered_at=SLOT + timedelta(hours=3), outside_window_reason="At clinic"
    )
    assert late.outside_window is True  # type: ignore[attr-defined]
    stopped = state(order(fixed("08:00")), discontinued_at=SLOT + timedelta(hours=1))
    with violation("order_inactive"):
        administer(stopped, administered_at=SLOT + timedelta(hours=1))


def test_check_administration_hold_parameters() -> None:
    insulin = state(INSULIN)
    with violation("vitals_required"):
        administer(insulin)
    with violation("hold_parameters"):
        administer(insulin, vitals={"glucose": "65"})
    held = administer(insulin, outcome=Outcome.HELD, reason_code="H", vitals={"glucose": "65"})
    assert held.hold.reason == "glucose 65 below 70"  # type: ignore[attr-defined]
    refused = administer(insulin, outcome=Outcome.REFUSED, reason_code="R")  # no vitals needed
    assert not refused.hold.hold  # type: ignore[attr-defined]
    assert not administer(insulin, vitals={"glucose": "110"}).hold.hold  # type: ignore[attr-defined]


def test_check_administration_witness_for_schedule_ii() -> None:
    the_state = state(CII)
    with violation("witness_required"):
        administer(the_state)
    with violation("witness_same_person"):
        administer(the_state, witness=user("u-nurse"))
    administer(the_state, witness=user("u-witness"))
    # A refused Schedule II dose needs no witness here; a witness given must still be valid.
    administer(the_state, outcome=Outcome.REFUSED, reason_code="R")
    with violation("witness_unlicensed"):
        administer(
            the_state, outcome=Outcome.REFUSED, reason_code="R", witness=user("u-c", Role.CNA)
        )


def test_check_administration_prn() -> None:
    the_state = state(PRN_ORDER)
    kw = {"scheduled_for": None, "administered_at": T0}
    with violation("prn_reason"):
        administer(the_state, **kw)
    result = administer(the_state, prn_reason="pain 7/10", **kw)
    assert result.window is None  # type: ignore[attr-defined]
    with violation("not_scheduled"):
        administer(the_state, prn_reason="pain", scheduled_for=T0, administered_at=T0)
    with violation("prn_interval"):
        administer(
            the_state,
            prn_reason="pain",
            scheduled_for=None,
            administered_at=T0 + timedelta(hours=1),
            records=[given(T0)],
        )
    held_order = state(PRN_ORDER, holds=(Interval(T0, None),))
    with violation("order_held"):
        administer(held_order, prn_reason="pain", **kw)
    stopped = state(PRN_ORDER, discontinued_at=T0)
    with violation("order_inactive"):
        administer(stopped, prn_reason="pain", outcome=Outcome.REFUSED, reason_code="R", **kw)


def test_check_administration_held_order_slot_given_refused_other_outcomes_documented() -> None:
    held = state(order(fixed("08:00")), holds=(Interval(SLOT - timedelta(hours=1), None),))
    with violation("order_held"):
        administer(held)
    administer(held, outcome=Outcome.HELD, reason_code="HP")
