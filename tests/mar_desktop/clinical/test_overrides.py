"""Overrides: one test per code, the bypass reason list, and the derivation for older doses."""

from __future__ import annotations

import pytest

from mar_desktop import kinds
from mar_desktop.clinical import overrides
from mar_desktop.clinical.overrides import (
    DEFAULT_BYPASS_REASONS,
    LEGACY_REASON,
    OVERRIDE_LABELS,
    Accepted,
    bypass_choices,
    check_bypass_reason,
    check_prn_indication,
    collect,
    legacy_overrides,
    override_label,
)
from mar_desktop.errors import RuleViolation
from mar_desktop.model import PrnIndication, Schedule
from tests.mar_desktop.clinical.factories import order as make_order

BAND_MISSING = next(r for r in DEFAULT_BYPASS_REASONS if r.code == "band_missing")
DAMAGED = next(r for r in DEFAULT_BYPASS_REASONS if r.code == "barcode_damaged")


def test_a_dose_with_every_check_passed_has_no_override() -> None:
    assert collect() == []
    assert collect(allergy_warnings=["", "  "], outside_window_reason="  ") == []


def test_an_acknowledged_allergy_is_an_override_with_the_warnings_as_reason() -> None:
    found = collect(allergy_warnings=["Penicillin (class)", "Sulfa"])
    assert found == [Accepted("allergy", "Penicillin (class); Sulfa")]


def test_a_wristband_bypass_is_an_override_with_the_reason_in_words() -> None:
    assert collect(wristband_bypass=BAND_MISSING) == [
        Accepted("wristband_not_scanned", "Wristband missing")
    ]


def test_a_medication_bypass_is_an_override_with_the_reason_in_words() -> None:
    assert collect(medication_bypass=DAMAGED) == [
        Accepted("medication_not_scanned", "Barcode damaged or unreadable")
    ]


def test_outside_the_window_is_an_override_with_the_reason_typed() -> None:
    assert collect(outside_window_reason="  resident at dialysis ") == [
        Accepted("outside_window", "resident at dialysis")
    ]


def test_a_prn_indication_mismatch_is_an_override() -> None:
    assert collect(prn_indication_reason="grimacing, cannot rate") == [
        Accepted("prn_indication", "grimacing, cannot rate")
    ]


def test_every_override_of_one_dose_in_a_fixed_order() -> None:
    found = collect(
        allergy_warnings=["Codeine"],
        wristband_bypass=BAND_MISSING,
        medication_bypass=DAMAGED,
        outside_window_reason="late from therapy",
        prn_indication_reason="asked for it",
    )
    assert [a.code for a in found] == [
        "allergy", "wristband_not_scanned", "medication_not_scanned", "outside_window",
        "prn_indication",
    ]


@pytest.mark.parametrize("code", ["", "   "])
def test_a_bypass_without_a_reason_is_refused_at_its_field(code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_bypass_reason("wristband", code)
    assert refused.value.code == "bypass_reason_required"
    assert refused.value.field == "bypass_wristband"
    with pytest.raises(RuleViolation) as refused:
        check_bypass_reason("medication", code)
    assert refused.value.field == "bypass_medication"


def test_a_bypass_reason_must_be_from_the_list_for_that_scan() -> None:
    assert check_bypass_reason("wristband", " band_missing ") == BAND_MISSING
    assert check_bypass_reason("medication", "barcode_damaged") == DAMAGED
    for target, code in (("wristband", "barcode_damaged"), ("medication", "band_missing"),
                         ("wristband", "because")):
        with pytest.raises(RuleViolation) as refused:
            check_bypass_reason(target, code)  # type: ignore[arg-type]
        assert refused.value.code == "bypass_reason_unknown"


def test_the_default_list_offers_reasons_for_each_scan() -> None:
    wristband = [r.code for r in bypass_choices("wristband")]
    medication = [r.code for r in bypass_choices("medication")]
    assert wristband == ["band_missing", "band_unreadable", "band_refused", "scanner_down"]
    assert medication == ["barcode_damaged", "no_barcode", "scanner_down"]
    assert len({r.code for r in DEFAULT_BYPASS_REASONS}) == len(DEFAULT_BYPASS_REASONS)


def test_every_code_has_words_and_an_unknown_one_never_shows_raw() -> None:
    for code in overrides.OverrideCode.__args__:  # type: ignore[attr-defined]
        assert code in OVERRIDE_LABELS and code not in OVERRIDE_LABELS[code]
    assert override_label("allergy") == "Allergy warning acknowledged"
    assert override_label("from_the_future") == (
        "Warning accepted (recorded by a newer version)"
    )


def test_an_older_dose_derives_its_overrides_from_its_own_fields() -> None:
    scanned = {"outcome": "given", "scan": {"wristband_scanned": True,
                                            "medication_scanned": True}}
    assert legacy_overrides(scanned) == []
    by_hand = {"outcome": "given", "scan": {"identity_confirmed": True},
               "outside_window_reason": "pharmacy late"}
    assert legacy_overrides(by_hand) == [
        Accepted("wristband_not_scanned", LEGACY_REASON),
        Accepted("medication_not_scanned", LEGACY_REASON),
        Accepted("outside_window", "pharmacy late"),
    ]
    refused = {"outcome": "refused", "scan": {}, "outside_window_reason": ""}
    assert legacy_overrides(refused) == []
    assert legacy_overrides({"outcome": "given"}) == [
        Accepted("wristband_not_scanned", LEGACY_REASON),
        Accepted("medication_not_scanned", LEGACY_REASON),
    ]


SEVERE = PrnIndication(minimum=7, maximum=9)


@pytest.mark.parametrize("score", [7, 8, 9])
def test_a_score_inside_the_indication_needs_nothing(score: int) -> None:
    assert check_prn_indication(SEVERE, score, "") == ""


def test_no_indication_needs_nothing_whatever_the_score() -> None:
    assert check_prn_indication(None, None, "") == ""
    assert check_prn_indication(None, 0, "") == ""


@pytest.mark.parametrize("score", [0, 3, 6, 10])
def test_a_score_outside_the_indication_needs_a_reason(score: int) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_prn_indication(SEVERE, score, "  ")
    assert (refused.value.code, refused.value.field) == ("prn_indication", "prn_indication")
    assert f"pain 7–9 (pain {score})" in str(refused.value)
    assert check_prn_indication(SEVERE, score, " grimacing ") == (
        f"pain {score}, ordered for pain 7–9: grimacing"
    )


def test_no_score_cannot_be_checked_so_it_needs_a_reason_too() -> None:
    with pytest.raises(RuleViolation) as refused:
        check_prn_indication(SEVERE, None, "")
    assert "no score recorded" in str(refused.value)
    assert check_prn_indication(SEVERE, None, "cannot rate: dementia") == (
        "no score recorded, ordered for pain 7–9: cannot rate: dementia"
    )


def test_an_indication_range_is_ordered_and_only_for_prn_orders() -> None:
    with pytest.raises(ValueError, match="lowest score"):
        PrnIndication(minimum=8, maximum=7)
    assert PrnIndication(minimum=0, maximum=10).words == "pain 0–10"
    prn = make_order(schedule=Schedule(kind="prn"), prn_indication=SEVERE)
    assert prn.prn_indication == SEVERE
    with pytest.raises(ValueError, match="only an as-needed"):
        make_order(prn_indication=SEVERE)


def test_an_order_body_with_an_indication_is_v3_and_without_one_stays_v2() -> None:
    plain = make_order(schedule=Schedule(kind="prn"))
    assert "prn_indication" not in kinds.body_json(kinds.OrderCreated(order=plain))["order"]
    assert kinds.OrderCreated(order=plain).v == 2
    with_range = plain.model_copy(update={"prn_indication": SEVERE})
    created = kinds.OrderCreated(order=with_range)
    assert created.v == 3 and kinds.body_json(created)["order"]["prn_indication"] == {
        "scale": "pain", "minimum": 7, "maximum": 9,
    }
    assert kinds.parse_body(kinds.ORDER_CREATED, kinds.body_json(created)) == created
    with pytest.raises(ValueError, match="PRN indication is v3"):
        kinds.OrderCreated(v=2, order=with_range)
    changed = kinds.OrderChanged(replaces_order_id="o-1", order=with_range, reason="r",
                                 effective_at=plain.start)
    assert changed.v == 3
    body = kinds.body_json(created)
    assert kinds.from_newer_version(kinds.ORDER_CREATED, body) is False
    assert kinds.from_newer_version(kinds.ORDER_CREATED, {**body, "v": 4})
