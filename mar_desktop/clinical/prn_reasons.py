"""The reasons offered for an as-needed (PRN) dose, so a nurse picks one with a tap instead of
typing: the reasons already recorded for this order, most used first, then the common
indications of long-term care. She may still type any other reason; the rules only ask that
there is one (:func:`mar_desktop.clinical.rules.check_prn_reason`). Pure; any thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

COMMON_PRN_REASONS: tuple[str, ...] = (
    "Pain",
    "Fever",
    "Nausea",
    "Anxiety",
    "Agitation",
    "Shortness of breath",
    "Constipation",
    "Insomnia",
)
"""The usual indications for an as-needed dose in a care facility."""

MAX_CHOICES = 6


def prn_reason_choices(recorded: Iterable[str], limit: int = MAX_CHOICES) -> tuple[str, ...]:
    """At most ``limit`` reasons to offer: those in ``recorded`` (the reasons given before for
    this order, any order), most frequent first, ties in the order first seen; then the common
    ones, each reason once whatever its case or spacing."""
    counts: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    for reason in recorded:
        text = " ".join(reason.split())
        if not text:
            continue
        key = text.casefold()
        counts[key] += 1
        spelled.setdefault(key, text)
    chosen = [spelled[key] for key, _ in counts.most_common()]
    keys = set(counts)
    for reason in COMMON_PRN_REASONS:
        if reason.casefold() not in keys:
            chosen.append(reason)
            keys.add(reason.casefold())
    return tuple(chosen[:limit])
