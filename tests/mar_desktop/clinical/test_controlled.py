"""The DEA schedule of a medication from its names and RxNorm codes: every drug of the table,
brand names, combinations, codes alone, and what the table does not know."""

from __future__ import annotations

import pytest

from mar_desktop.clinical.controlled import RXCUI, SCHEDULES, schedule_of


@pytest.mark.parametrize(("name", "schedule"), sorted(SCHEDULES.items()))
def test_every_drug_of_the_table_is_found_by_its_name(name: str, schedule: str) -> None:
    assert schedule_of([f"{name.title()} 5 mg tablet"]) == schedule


@pytest.mark.parametrize(("code", "name"), sorted(RXCUI.items()))
def test_every_rxnorm_ingredient_code_is_found_without_a_name(code: str, name: str) -> None:
    assert schedule_of(["Some product"], [code]) == SCHEDULES[name]


@pytest.mark.parametrize(
    ("names", "schedule"),
    [
        (["Percocet 5/325"], "II"),
        (["Norco"], "II"),
        (["oxycodone hydrochloride 5 MG Oral Tablet"], "II"),
        (["Ultram"], "IV"),
        (["Ativan 0.5 mg"], "IV"),
        (["Tylenol #3"], "III"),  # codeine with acetaminophen
        (["acetaminophen 300 MG / codeine phosphate 30 MG Oral Tablet"], "III"),
        (["codeine sulfate 30 MG Oral Tablet"], "II"),  # codeine alone
        (["Butrans patch"], "III"),
        (["carisoprodol and codeine"], "III"),  # the most restrictive of IV and III
        (["tramadol", "oxycodone"], "II"),
    ],
)
def test_brands_and_combinations_take_the_most_restrictive_schedule(
    names: list[str], schedule: str
) -> None:
    assert schedule_of(names) == schedule


def test_a_drug_the_table_does_not_know_has_no_schedule() -> None:
    assert schedule_of(["Metoprolol tartrate 25 mg"], ["6918"]) is None
    assert schedule_of([]) is None
