"""The cross-sensitivity table, class by class, and allergies that each match on their own.

The table is module data built at import, where mutation testing cannot reach it: each class
is pinned here by name, alias and member, and the builder is checked directly."""

from __future__ import annotations

import pytest

from mar_desktop.clinical.allergies import (
    BETA_LACTAMS,
    CROSS_SENSITIVITY_CLASSES,
    DrugClass,
    _class,
    drug_allergy_matches,
)
from mar_desktop.model import Allergy


def test_class_builder_splits_aliases_into_phrases_and_members_into_words() -> None:
    assert _class("Beta blockers", "Beta-Blocker, beta blockers", "metoprolol  atenolol") == (
        DrugClass(
            "Beta blockers",
            (" beta blocker ", " beta blockers "),
            frozenset({"metoprolol", "atenolol"}),
        )
    )


# Each class in table order: its name, an alias an allergy may name, a member, another member.
CLASSES = [
    ("penicillins", "beta lactam", "penicillin", "amoxicillin"),
    ("cephalosporins", "cephalosporins", "cephalexin", "ceftriaxone"),
    ("sulfonamide antibiotics", "sulfa drugs", "sulfamethoxazole", "sulfasalazine"),
    ("opioids", "narcotic", "codeine", "morphine"),
    ("NSAIDs", "anti-inflammatory", "aspirin", "ibuprofen"),
    ("ACE inhibitors", "ACE inhibitor", "lisinopril", "enalapril"),
]


def test_the_table_has_exactly_these_classes() -> None:
    names = [c.name for c in CROSS_SENSITIVITY_CLASSES]
    assert names == [row[0] for row in CLASSES] + [BETA_LACTAMS]


@pytest.mark.parametrize(
    ("allergy", "drug"),
    [("penicillin", "cefazolin"), ("Amoxicillin", "ceftriaxone"), ("cephalexin", "amoxicillin"),
     ("Cefdinir", "piperacillin")],
)
def test_penicillins_and_cephalosporins_warn_for_each_other(allergy: str, drug: str) -> None:
    found = drug_allergy_matches((Allergy(substance=allergy),), f"{drug} 500 mg")
    assert [(m.kind, m.class_name) for m in found] == [("class", BETA_LACTAMS)]


@pytest.mark.parametrize(("name", "alias", "member", "other"), CLASSES)
def test_each_class_warns_by_alias_and_by_member(
    name: str, alias: str, member: str, other: str
) -> None:
    for allergy in (alias, member):
        found = drug_allergy_matches((Allergy(substance=allergy),), f"{other} 10 mg")
        assert [(m.kind, m.drug_word, m.class_name) for m in found] == [("class", other, name)]


def test_every_allergy_that_matches_is_reported() -> None:
    allergies = (Allergy(substance="Amoxicillin"), Allergy(substance="clavulanate"))
    found = drug_allergy_matches(allergies, "Amoxicillin-clavulanate")
    assert [(m.allergy.substance, m.kind) for m in found] == [
        ("Amoxicillin", "direct"),
        ("clavulanate", "direct"),
    ]
