"""Which DEA schedule a medication falls under, from its names and its RxNorm codes: so an order
imported from a pharmacy bundle is controlled (and asks for a witness where the facility's rules
do) whether or not the pharmacy added our own extension.

Source: the DEA's schedules (21 CFR 1308.12–1308.15, the "Orange Book" of controlled
substances), for the controlled drugs common in long-term care: opioids, stimulants,
benzodiazepines and other sedative-hypnotics, anticonvulsants of Schedule V, and the Schedule III
drugs LTC residents take. RxNorm ingredient concept ids (RXCUI) are the ones the CPIC drug table
lists (cpicpgx/cpic-schema ``drug.sql``), only for ingredients it names; a product code (SCD,
SBD) is matched by the name its coding displays. Brand names are read through
:mod:`mar_desktop.clinical.drug_names`. :data:`TABLE_VERSION` says which table a build has; a
facility that needs another drug adds it to :data:`SCHEDULES` in a release, with a test.

Rules: the most restrictive schedule any named ingredient has (II before III before IV before
V). Codeine is Schedule II alone and Schedule III combined with another active ingredient
(acetaminophen with codeine). A name the table does not know says nothing: the schedule then
comes from the order's own extension, or the order is not controlled.

Pure, any thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from mar_desktop.clinical.allergies import drug_words

Schedule = Literal["II", "III", "IV", "V"]
TABLE_VERSION = "2026-12-07"
_RANK: dict[str, int] = {"II": 2, "III": 3, "IV": 4, "V": 5}

SCHEDULES: dict[str, Schedule] = {
    # Schedule II: opioids and stimulants
    "alfentanil": "II", "codeine": "II", "fentanyl": "II", "hydrocodone": "II",
    "hydromorphone": "II", "levorphanol": "II", "meperidine": "II", "methadone": "II",
    "morphine": "II", "oxycodone": "II", "oxymorphone": "II", "sufentanil": "II",
    "tapentadol": "II", "amphetamine": "II", "dextroamphetamine": "II",
    "lisdexamfetamine": "II", "methylphenidate": "II", "dexmethylphenidate": "II",
    "nabilone": "II",
    # Schedule III
    "buprenorphine": "III", "dronabinol": "III", "ketamine": "III", "testosterone": "III",
    "nandrolone": "III", "oxandrolone": "III", "butalbital": "III",
    # Schedule IV: benzodiazepines, hypnotics, and others
    "alprazolam": "IV", "chlordiazepoxide": "IV", "clobazam": "IV", "clonazepam": "IV",
    "clorazepate": "IV", "diazepam": "IV", "estazolam": "IV", "lorazepam": "IV",
    "midazolam": "IV", "oxazepam": "IV", "temazepam": "IV", "triazolam": "IV",
    "zolpidem": "IV", "zaleplon": "IV", "eszopiclone": "IV", "suvorexant": "IV",
    "lemborexant": "IV", "daridorexant": "IV", "tramadol": "IV", "carisoprodol": "IV",
    "modafinil": "IV", "armodafinil": "IV", "phenobarbital": "IV", "butorphanol": "IV",
    "pentazocine": "IV",
    # Schedule V
    "pregabalin": "V", "lacosamide": "V", "brivaracetam": "V", "cenobamate": "V",
    "diphenoxylate": "V",
}

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
RXCUI: dict[str, str] = {  # ingredient RXCUI -> the ingredient name in SCHEDULES
    "480": "alfentanil", "2670": "codeine", "4337": "fentanyl", "6813": "methadone",
    "7052": "morphine", "7804": "oxycodone", "6901": "methylphenidate", "21241": "clobazam",
    "3322": "diazepam", "6960": "midazolam", "7781": "oxazepam", "10689": "tramadol",
    "2101": "carisoprodol", "30125": "modafinil", "1739745": "brivaracetam",
}


def schedule_of(names: Iterable[str], rxnorm_codes: Iterable[str] = ()) -> Schedule | None:
    """The DEA schedule of a medication named by ``names`` (drug names, coding displays) and
    coded by ``rxnorm_codes`` (RxNorm codes of its coding), or None if nothing it names is in
    the table (see the module docstring)."""
    ingredients = {RXCUI[code] for code in rxnorm_codes if code in RXCUI}
    words: set[str] = set()
    for name in names:
        words |= drug_words(name)
    ingredients |= {w for w in words if w in SCHEDULES}
    if not ingredients:
        return None
    found = [_schedule(i, words) for i in ingredients]
    return min(found, key=lambda s: _RANK[s])


# Active ingredients codeine is combined with in Schedule III products (at most 90 mg per unit).
_CODEINE_PARTNERS = frozenset({"acetaminophen", "aspirin", "butalbital", "carisoprodol",
                               "caffeine"})


def _schedule(ingredient: str, words: set[str]) -> Schedule:
    if ingredient == "codeine" and words & _CODEINE_PARTNERS:
        return "III"
    return SCHEDULES[ingredient]
