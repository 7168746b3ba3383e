"""Overrides: one test per code, the bypass reason list, and the derivation for older doses."""

from __future__ import annotations

import pytest

from mar_desktop.clinical import overrides
from mar_desktop.clinical.overrides import (
    DEFAULT_BYPASS_REASONS,
    LEGACY_REASON,
    OVERRIDE_LABELS,
    Accepted,
    bypass_choices,
    check_bypass_reason,
    collect,
    legacy_overrides,
    override_label,
)
from mar_desktop.errors import RuleViolation

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
