"""Routes of administration: a closed list, the words orders use for them, and which need a
licensed nurse.

An order's route is free text (hand entry, a pharmacy's FHIR bundle); :func:`route_of` maps the
common words and abbreviations (PO, SL, SC/SQ, IM, IV, ...) and the FHIR/SNOMED CT route codes
to a :class:`Route`. A route it does not know is ``None``, which every rule treats as the most
restrictive case (injectable: licensed staff only). Pure; any thread.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Route(StrEnum):
    ORAL = "oral"
    SUBLINGUAL = "sublingual"
    BUCCAL = "buccal"
    ENTERAL_TUBE = "enteral tube"
    TOPICAL = "topical"
    TRANSDERMAL = "transdermal"
    OPHTHALMIC = "ophthalmic"
    OTIC = "otic"
    NASAL = "nasal"
    INHALED = "inhaled"
    RECTAL = "rectal"
    VAGINAL = "vaginal"
    SUBCUTANEOUS = "subcutaneous"
    INTRAMUSCULAR = "intramuscular"
    INTRAVENOUS = "intravenous"
    INTRADERMAL = "intradermal"


INJECTABLE = frozenset(
    {Route.SUBCUTANEOUS, Route.INTRAMUSCULAR, Route.INTRAVENOUS, Route.INTRADERMAL}
)

_WORDS: dict[str, Route] = {
    # oral
    "oral": Route.ORAL, "po": Route.ORAL, "by mouth": Route.ORAL, "per os": Route.ORAL,
    "orally": Route.ORAL,
    "sublingual": Route.SUBLINGUAL, "sl": Route.SUBLINGUAL, "under the tongue": Route.SUBLINGUAL,
    "buccal": Route.BUCCAL,
    "enteral tube": Route.ENTERAL_TUBE, "g-tube": Route.ENTERAL_TUBE, "gt": Route.ENTERAL_TUBE,
    "peg": Route.ENTERAL_TUBE, "ng": Route.ENTERAL_TUBE, "per tube": Route.ENTERAL_TUBE,
    "gastrostomy": Route.ENTERAL_TUBE, "nasogastric": Route.ENTERAL_TUBE,
    # skin and mucosa
    "topical": Route.TOPICAL, "top": Route.TOPICAL, "cutaneous": Route.TOPICAL,
    "transdermal": Route.TRANSDERMAL, "td": Route.TRANSDERMAL, "patch": Route.TRANSDERMAL,
    "ophthalmic": Route.OPHTHALMIC, "eye": Route.OPHTHALMIC, "both eyes": Route.OPHTHALMIC,
    "otic": Route.OTIC, "ear": Route.OTIC, "auricular": Route.OTIC,
    "nasal": Route.NASAL, "intranasal": Route.NASAL,
    "inhaled": Route.INHALED, "inhalation": Route.INHALED, "inh": Route.INHALED,
    "nebulized": Route.INHALED, "respiratory (inhalation)": Route.INHALED,
    "rectal": Route.RECTAL, "pr": Route.RECTAL, "per rectum": Route.RECTAL,
    "vaginal": Route.VAGINAL, "pv": Route.VAGINAL,
    # injections
    "subcutaneous": Route.SUBCUTANEOUS, "sc": Route.SUBCUTANEOUS, "sq": Route.SUBCUTANEOUS,
    "subcut": Route.SUBCUTANEOUS, "subq": Route.SUBCUTANEOUS,
    "intramuscular": Route.INTRAMUSCULAR, "im": Route.INTRAMUSCULAR,
    "intravenous": Route.INTRAVENOUS, "iv": Route.INTRAVENOUS,
    "intradermal": Route.INTRADERMAL, "id": Route.INTRADERMAL,
}

SNOMED: dict[str, Route] = {
    "26643006": Route.ORAL,
    "37839007": Route.SUBLINGUAL,
    "54471007": Route.BUCCAL,
    "127492001": Route.ENTERAL_TUBE,  # via gastrostomy tube
    "6064005": Route.TOPICAL,
    "45890007": Route.TRANSDERMAL,
    "54485002": Route.OPHTHALMIC,
    "10547007": Route.OTIC,
    "46713006": Route.NASAL,
    "18679011000001101": Route.INHALED,
    "447694001": Route.INHALED,  # respiratory tract
    "37161004": Route.RECTAL,
    "16857009": Route.VAGINAL,
    "34206005": Route.SUBCUTANEOUS,
    "78421000": Route.INTRAMUSCULAR,
    "47625008": Route.INTRAVENOUS,
    "372464004": Route.INTRADERMAL,
}
"""SNOMED CT route codes (the FHIR ``Dosage.route`` value set) of the routes above."""

_SPACES = re.compile(r"\s+")


def route_of(text: str) -> Route | None:
    """The route ``text`` names (a word, an abbreviation, or a SNOMED CT code), or None."""
    key = _SPACES.sub(" ", text.strip().lower().rstrip("."))
    return _WORDS.get(key) or SNOMED.get(key)


def same_route(given: str, ordered: str) -> bool:
    """True if ``given`` is the order's route: the same known route, or, for a route this list
    does not know, the same words."""
    a, b = route_of(given), route_of(ordered)
    if a is not None or b is not None:
        return a == b
    return _SPACES.sub(" ", given.strip().lower()) == _SPACES.sub(" ", ordered.strip().lower())


def route_words(text: str) -> str:
    """The route as a nurse reads it on screen: the words of the route ``text`` names ("PO",
    "po", "26643006" → "oral"), or ``text`` as written when the list does not know it."""
    route = route_of(text)
    return route.value if route is not None else text.strip()
