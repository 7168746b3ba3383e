"""Allergy checks: warn when a resident's recorded allergy matches the drug of an order.

This only ever warns (allergies are shown before giving, docs/architecture.md#clinical-defaults); it
never refuses and never stays silent about a match it can see. It is a safety net, not a
drug-interaction database:

* **Direct match**: the allergy substance and the drug name share a significant word, compared
  case-insensitively (``"Penicillin"`` matches ``"Penicillin V potassium"``; ``"morphine
  sulfate"`` matches ``"Morphine ER"``). Salt, form and filler words (``sodium``, ``hcl``,
  ``tablet``, ``acid`` …, :data:`IGNORED_WORDS`) and words shorter than 3 letters never match
  on their own.
* **Cross-sensitivity**: the small class table :data:`CROSS_SENSITIVITY_CLASSES` below. An
  allergy naming a class (``"penicillins"``, ``"sulfa"``, ``"NSAID"``, ``"opioids"``) or any
  member of it warns for every member of that class (``penicillin`` → ``amoxicillin``,
  ``codeine`` → ``morphine``, ``aspirin`` → ``ibuprofen``). The table deliberately errs toward
  warning; it is not exhaustive.
* **Brand names and abbreviations** (:mod:`~mar_desktop.clinical.drug_names`, a versioned
  table): "Bactrim" is read as sulfamethoxazole and trimethoprim, "Percocet" as oxycodone and
  acetaminophen, on the allergy and the order alike, before the two checks above.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from mar_desktop.clinical.drug_names import NAMES
from mar_desktop.model import Allergy, Order, Resident

_TOKEN = re.compile(r"[a-z0-9]+")
_TEXTS_CACHED = 4096
"""Drug and allergy names whose words are kept (a facility has a few hundred of each)."""


def _phrase(text: str) -> str:
    """``text`` as `` word word `` (lower case, punctuation and hyphens as single spaces)."""
    return " " + " ".join(_TOKEN.findall(text.casefold())) + " "


@dataclass(frozen=True, slots=True)
class DrugClass:
    name: str  # shown to the nurse
    aliases: tuple[str, ...]  # words or phrases that name the class itself in an allergy entry
    members: frozenset[str]  # drug words (generic names) in the class


def _class(name: str, aliases: str, members: str) -> DrugClass:
    return DrugClass(
        name, tuple(_phrase(a) for a in aliases.split(",")), frozenset(members.split())
    )


BETA_LACTAMS = "beta-lactams: penicillin and cephalosporin cross-reactivity"

CROSS_SENSITIVITY_CLASSES: tuple[DrugClass, ...] = (
    _class(
        "penicillins",
        "penicillin, penicillins, pcn, beta lactam, beta lactams",
        "penicillin amoxicillin ampicillin piperacillin nafcillin oxacillin dicloxacillin "
        "cloxacillin ticarcillin benzathine",
    ),
    _class(
        "cephalosporins",
        "cephalosporin, cephalosporins, beta lactam, beta lactams",
        "cephalexin cefazolin cefadroxil cefuroxime cefdinir cefpodoxime ceftriaxone cefepime "
        "cefotaxime ceftazidime cefprozil cefaclor",
    ),
    _class(
        "sulfonamide antibiotics",
        "sulfa, sulfonamide, sulfonamides, sulpha, sulfa drugs",
        "sulfamethoxazole sulfadiazine sulfisoxazole sulfasalazine sulfacetamide",
    ),
    _class(
        "opioids",
        "opioid, opioids, opiate, opiates, narcotic, narcotics",
        "morphine codeine hydrocodone hydromorphone oxycodone oxymorphone fentanyl methadone "
        "tramadol meperidine tapentadol buprenorphine",
    ),
    _class(
        "NSAIDs",
        "nsaid, nsaids, asa, salicylate, salicylates, anti inflammatory",
        "aspirin ibuprofen naproxen diclofenac ketorolac indomethacin meloxicam ketoprofen "
        "etodolac nabumetone piroxicam celecoxib",
    ),
    _class(
        "ACE inhibitors",
        "ace inhibitor, ace inhibitors, acei",
        "lisinopril enalapril ramipril captopril benazepril quinapril fosinopril perindopril",
    ),
    # Last, so a penicillin allergy names "penicillins" for amoxicillin and this class only
    # across the two families (a penicillin allergy and cefazolin, a cephalexin one and
    # amoxicillin).
    _class(
        BETA_LACTAMS,
        "penicillin cephalosporin cross reactivity",
        "penicillin amoxicillin ampicillin piperacillin nafcillin oxacillin dicloxacillin "
        "cloxacillin ticarcillin benzathine cephalexin cefazolin cefadroxil cefuroxime cefdinir "
        "cefpodoxime ceftriaxone cefepime cefotaxime ceftazidime cefprozil cefaclor",
    ),
)

IGNORED_WORDS = frozenset(
    """
    acid sodium potassium calcium magnesium hydrochloride hcl hbr sulfate sulphate
    phosphate acetate citrate tartrate maleate mesylate besylate succinate fumarate
    bitartrate chloride bromide er xr sr cr la dr ir ec odt tablet tablets tab tabs capsule
    capsules cap caps solution suspension syrup injection inj oral liquid cream ointment
    patch drops spray extended release delayed immediate chewable mg mcg ml unit units and
    with the allergy allergies allergic drug drugs medication medications known nkda nka
    none unknown other
    """.split()  # noqa: SIM905
)

_WORD = re.compile(r"[a-z][a-z0-9-]*")


def _plain_words(text: str) -> set[str]:
    found: set[str] = set()
    for word in _WORD.findall(text.casefold()):
        for part in (word, *word.split("-")):
            if len(part) >= 3 and part not in IGNORED_WORDS:
                found.add(part)
    return found


_NAME_WORDS = {key: value for key, value in NAMES.items() if " " not in _phrase(key).strip()}
_NAME_PHRASES = {_phrase(key): value for key, value in NAMES.items() if key not in _NAME_WORDS}


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def drug_words(text: str) -> frozenset[str]:
    """Significant lower-case words; hyphenated words count whole and by their parts; a brand
    name or abbreviation of :data:`~mar_desktop.clinical.drug_names.NAMES` adds its generic
    ingredients. Pure, so cached per text (any thread): a dose recorded checks the same drug
    and allergy names again and again."""
    found = _plain_words(text)
    lowered = set(_WORD.findall(text.casefold()))
    for key, generic in _NAME_WORDS.items():
        if key in lowered or key in found:
            found |= _plain_words(generic)
    phrase = _phrase(text)
    for key, generic in _NAME_PHRASES.items():
        if key in phrase:
            found |= _plain_words(generic)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class AllergyMatch:
    """One reason to warn. ``message`` names the allergy and drug word, never the resident."""

    allergy: Allergy
    kind: Literal["direct", "class"]
    drug_word: str  # the word of the drug name that matched
    class_name: str | None = None

    @property
    def message(self) -> str:
        if self.kind == "direct":
            return f"Allergy recorded: {self.allergy.substance} (matches {self.drug_word})"
        return (
            f"Allergy recorded: {self.allergy.substance} — {self.drug_word} is in the same "
            f"class ({self.class_name}); cross-sensitivity possible"
        )


def allergy_matches(resident: Resident, order: Order) -> tuple[AllergyMatch, ...]:
    """Every allergy of ``resident`` that matches ``order.drug`` directly or by class.

    At most one match per allergy (a direct match is preferred). Empty means no match found.
    """
    return drug_allergy_matches(resident.allergies, order.drug)


def drug_allergy_matches(allergies: tuple[Allergy, ...], drug: str) -> tuple[AllergyMatch, ...]:
    """As :func:`allergy_matches` for a drug name and a list of allergies."""
    words_of_drug = drug_words(drug)
    matches: list[AllergyMatch] = []
    for allergy in allergies:
        direct = sorted(drug_words(allergy.substance) & words_of_drug)
        if direct:
            matches.append(AllergyMatch(allergy, "direct", direct[0]))
            continue
        for drug_class in _classes_named(allergy.substance):
            in_class = sorted(words_of_drug & drug_class.members)
            if in_class:
                matches.append(AllergyMatch(allergy, "class", in_class[0], drug_class.name))
                break
    return tuple(matches)


@functools.lru_cache(maxsize=_TEXTS_CACHED)
def _classes_named(substance: str) -> tuple[DrugClass, ...]:
    """The classes, in table order, that an allergy to ``substance`` warns for: those it names
    (an alias) and those it is a member of. Pure, cached per substance like :func:`drug_words`."""
    words = drug_words(substance)
    phrase = _phrase(substance)
    return tuple(
        drug_class
        for drug_class in CROSS_SENSITIVITY_CLASSES
        if any(alias in phrase for alias in drug_class.aliases) or words & drug_class.members
    )
