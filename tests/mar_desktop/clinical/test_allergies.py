"""Allergy warnings: direct and cross-sensitivity class matches; warn, never silent."""

from __future__ import annotations

import pytest

from mar_desktop.clinical import allergies
from mar_desktop.clinical.allergies import (
    CROSS_SENSITIVITY_CLASSES,
    allergy_matches,
    drug_allergy_matches,
)
from mar_desktop.model import Allergy
from tests.mar_desktop.clinical.factories import order, resident


def kinds(allergy: str, drug: str) -> list[tuple[str, str, str | None]]:
    return [
        (m.kind, m.drug_word, m.class_name)
        for m in drug_allergy_matches((Allergy(substance=allergy),), drug)
    ]


@pytest.mark.parametrize(
    ("allergy", "drug", "word"),
    [
        ("Penicillin", "Penicillin V potassium", "penicillin"),
        ("PENICILLIN", "penicillin g benzathine", "penicillin"),
        ("morphine sulfate", "Morphine ER", "morphine"),
        ("Lisinopril", "lisinopril 10 mg tablet", "lisinopril"),
        ("sulfamethoxazole", "Sulfamethoxazole/Trimethoprim DS", "sulfamethoxazole"),
        ("trimethoprim", "sulfamethoxazole-trimethoprim", "trimethoprim"),
    ],
)
def test_direct_match_case_insensitive(allergy: str, drug: str, word: str) -> None:
    assert kinds(allergy, drug) == [("direct", word, None)]


@pytest.mark.parametrize(
    ("allergy", "drug", "word", "class_name"),
    [
        ("Penicillin", "Amoxicillin 500 mg capsule", "amoxicillin", "penicillins"),
        ("penicillins", "Ampicillin", "ampicillin", "penicillins"),
        ("PCN", "Amoxicillin-clavulanate", "amoxicillin", "penicillins"),
        ("amoxicillin", "Piperacillin-tazobactam", "piperacillin", "penicillins"),
        ("Sulfa", "Sulfamethoxazole/Trimethoprim", "sulfamethoxazole", "sulfonamide antibiotics"),
        ("sulfa drugs", "Sulfasalazine", "sulfasalazine", "sulfonamide antibiotics"),
        ("Codeine", "Morphine sulfate IR", "morphine", "opioids"),
        ("morphine", "Codeine phosphate", "codeine", "opioids"),
        ("Opioids", "Oxycodone", "oxycodone", "opioids"),
        ("Aspirin", "Ibuprofen", "ibuprofen", "NSAIDs"),
        ("NSAIDs", "Naproxen sodium", "naproxen", "NSAIDs"),
        ("ibuprofen", "Aspirin 81 mg EC", "aspirin", "NSAIDs"),
        ("ACE inhibitors", "Lisinopril", "lisinopril", "ACE inhibitors"),
        ("cephalosporins", "Cephalexin", "cephalexin", "cephalosporins"),
        ("beta-lactams", "Ceftriaxone", "ceftriaxone", "cephalosporins"),
    ],
)
def test_cross_sensitivity_class_match(allergy: str, drug: str, word: str, class_name: str) -> None:
    assert kinds(allergy, drug) == [("class", word, class_name)]


@pytest.mark.parametrize(
    ("allergy", "drug"),
    [
        ("Penicillin", "Acetaminophen"),
        ("Sulfa", "Metoprolol tartrate"),  # 'tartrate' is a salt word; sulfa is not in it
        ("Valproic acid", "Folic acid"),  # 'acid' alone never matches
        ("Potassium chloride", "Losartan potassium"),  # salts alone never match
        ("NKDA", "Amoxicillin"),
        ("Latex", "Heparin sodium"),
        ("Codeine", "Ibuprofen"),
    ],
)
def test_no_match(allergy: str, drug: str) -> None:
    assert kinds(allergy, drug) == []


def test_every_matching_allergy_reported_once_each() -> None:
    the_resident = resident("Penicillin", "Amoxicillin", "Latex", "Shellfish")
    matches = allergy_matches(the_resident, order(drug="Amoxicillin 250 mg/5 mL suspension"))
    assert [(m.allergy.substance, m.kind) for m in matches] == [
        ("Penicillin", "class"),
        ("Amoxicillin", "direct"),
    ]
    assert "Penicillin" in matches[0].message
    assert "amoxicillin" in matches[0].message
    assert "penicillins" in matches[0].message


def test_class_table_members_match_each_other() -> None:
    for drug_class in CROSS_SENSITIVITY_CLASSES:
        members = sorted(drug_class.members)
        first = members[0]
        for other in members[1:]:
            found = kinds(first, other.capitalize())
            assert found, (first, other)
            assert found[0][1] == other


def test_cached_words_never_mix_up_allergies_or_change_answers() -> None:
    """Words and classes are cached per text; each match still carries its own allergy, and a
    warm cache answers exactly as a cold one."""
    severe = Allergy(substance="Penicillin", reaction="anaphylaxis", severity="severe")
    mild = Allergy(substance="Penicillin", reaction="rash", severity="mild")
    drugs = ["Amoxicillin", "Penicillin V potassium", "Acetaminophen", "Ceftriaxone"]
    warm = [drug_allergy_matches((severe, mild), drug) for drug in drugs]
    assert [m.allergy for m in warm[0]] == [severe, mild]
    assert [m.allergy for m in drug_allergy_matches((mild,), "Amoxicillin")] == [mild]
    allergies.drug_words.cache_clear()
    allergies._classes_named.cache_clear()
    assert [drug_allergy_matches((severe, mild), drug) for drug in drugs] == warm


# ---- brand names and abbreviations ------------------------------------------------------------
@pytest.mark.parametrize(
    ("allergy", "drug"),
    [
        ("Bactrim", "Sulfamethoxazole-trimethoprim DS"),
        ("Septra", "sulfamethoxazole/trimethoprim"),
        ("sulfa", "Bactrim DS"),
        ("Penicillin", "Augmentin 875"),
        ("PCN", "Amoxicillin"),
        ("Percocet", "Oxycodone IR"),
        ("Percocet", "Tylenol"),  # its other ingredient, acetaminophen
        ("MS Contin", "morphine sulfate ER"),
        ("Tylenol #3", "Codeine sulfate"),
        ("Tylenol with codeine", "Hydrocodone-acetaminophen"),
        ("NSAIDs", "Advil"),
        ("Toradol", "ibuprofen"),
        ("ASA", "Ecotrin"),
        ("Keflex", "Cefazolin"),
        ("Penicillin", "Cefazolin"),  # penicillin and cephalosporin cross-reactivity
        ("Keflex", "Amoxicillin"),
        ("TMP-SMX", "Sulfamethoxazole"),
    ],
)
def test_brand_names_and_abbreviations_warn_either_way(allergy: str, drug: str) -> None:
    assert drug_allergy_matches((Allergy(substance=allergy),), drug)


@pytest.mark.parametrize(
    ("allergy", "drug"),
    [("Bactrim", "Metoprolol tartrate"), ("Tylenol", "Ibuprofen"), ("Advil", "Acetaminophen"),
     ("Lasix", "Lisinopril"), ("Coumadin", "Atorvastatin")],
)
def test_brand_names_do_not_raise_false_alarms(allergy: str, drug: str) -> None:
    assert drug_allergy_matches((Allergy(substance=allergy),), drug) == ()


def test_the_name_table_is_versioned_and_its_generics_are_words_the_matcher_reads() -> None:
    from mar_desktop.clinical.drug_names import NAMES, TABLE_VERSION

    assert TABLE_VERSION
    for brand, generic in NAMES.items():
        assert brand == brand.casefold() and generic
        assert allergies._plain_words(generic), brand


def test_words_of_three_letters_count_and_shorter_ones_do_not() -> None:
    assert allergies._plain_words("ASA 81 mg") == {"asa"}
    assert allergies._plain_words("Ab zz") == set()
    assert drug_allergy_matches((Allergy(substance="Zyx"),), "zyx cream")
