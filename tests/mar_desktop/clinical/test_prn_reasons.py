"""The PRN reasons offered for a one-tap pick: the order's own first, then the common ones."""

from __future__ import annotations

from mar_desktop.clinical.prn_reasons import COMMON_PRN_REASONS, prn_reason_choices


def test_with_no_history_the_common_reasons_are_offered() -> None:
    assert prn_reason_choices([]) == COMMON_PRN_REASONS[:6]


def test_the_reasons_recorded_for_the_order_come_first_most_used_first() -> None:
    recorded = ["Tension headache", "pain", "Tension  headache", " ", "Back pain",
                "tension headache"]
    assert prn_reason_choices(recorded) == (
        "Tension headache", "pain", "Back pain", "Fever", "Nausea", "Anxiety"
    )


def test_the_limit_is_kept() -> None:
    assert len(prn_reason_choices([f"reason {i}" for i in range(10)], limit=4)) == 4
