"""The demo facility's reference data, generated deterministically from a seed.

Pure: builds models, writes nothing. ``demo_facility()`` gives two units of ~20 residents each
with realistic regimens: every resident has scheduled oral medicines and PRNs; some have
insulin with glucose hold parameters, beta-blockers with pulse/BP holds, or a Schedule II
opioid that needs a witness.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime

from mar_desktop.demo.avatars import avatar_png_b64
from mar_desktop.demo.catalog import BY_KEY, Medication
from mar_desktop.envelope import new_id
from mar_desktop.model import Allergy, Facility, Order, Resident, Unit

GIVEN_NAMES = (
    "Agnes",
    "Albert",
    "Alma",
    "Arthur",
    "Beatrice",
    "Bernard",
    "Clara",
    "Clarence",
    "Dolores",
    "Doris",
    "Earl",
    "Edith",
    "Elmer",
    "Esther",
    "Eugene",
    "Florence",
    "Frances",
    "Frank",
    "Gladys",
    "Harold",
    "Hazel",
    "Herbert",
    "Irene",
    "Irving",
    "June",
    "Leonard",
    "Lillian",
    "Lloyd",
    "Mabel",
    "Marvin",
    "Mildred",
    "Norma",
    "Opal",
    "Otis",
    "Pearl",
    "Ralph",
    "Ruth",
    "Stanley",
    "Thelma",
    "Vernon",
    "Viola",
    "Walter",
    "Wilma",
    "Wilbur",
    "Zelda",
)
FAMILY_NAMES = (
    "Abernathy",
    "Baxter",
    "Callahan",
    "Delgado",
    "Eriksen",
    "Fairbanks",
    "Gallagher",
    "Hollister",
    "Ingram",
    "Jaworski",
    "Kowalczyk",
    "Lindqvist",
    "Montgomery",
    "Nakamura",
    "Okafor",
    "Pemberton",
    "Quintero",
    "Rasmussen",
    "Sorensen",
    "Thibodeaux",
    "Underwood",
    "Vasquez",
    "Whitaker",
    "Yamamoto",
    "Zielinski",
    "Achterberg",
    "Brannigan",
    "Castellano",
    "Dunmore",
    "Ellsworth",
    "Fitzgerald",
    "Grunwald",
    "Halvorsen",
    "Iverson",
    "Jorgensen",
)
ALLERGY_CHOICES = (
    Allergy(substance="Penicillin", reaction="Hives", severity="moderate"),
    Allergy(substance="Sulfa drugs", reaction="Rash", severity="mild"),
    Allergy(substance="Codeine", reaction="Nausea and vomiting", severity="moderate"),
    Allergy(substance="Latex", reaction="Contact dermatitis", severity="mild"),
    Allergy(substance="Aspirin", reaction="Wheezing", severity="severe"),
)
# Regimens: (scheduled medication keys, PRN keys). Chosen per resident by the seed.
REGIMENS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("metoprolol", "atorvastatin", "vitamin_d", "omeprazole"), ("acetaminophen", "mom")),
    (("lisinopril", "metformin", "glargine", "lispro", "atorvastatin"), ("acetaminophen",)),
    (("levothyroxine", "donepezil", "sertraline", "vitamin_d"), ("acetaminophen", "lorazepam")),
    (("carbidopa", "amlodipine", "omeprazole", "donepezil"), ("acetaminophen", "ondansetron")),
    (("morphine_er", "furosemide", "metoprolol", "alendronate"), ("oxycodone", "ondansetron")),
    (("metformin", "lisinopril", "atorvastatin", "vitamin_d", "sertraline"), ("mom",)),
    (("furosemide", "amlodipine", "levothyroxine", "omeprazole"), ("acetaminophen", "oxycodone")),
)
PRESCRIBERS = ("Dr. R. Okonkwo", "Dr. S. Lindgren", "Dr. M. Patel (NP)")


@dataclass(frozen=True)
class DemoFacility:
    facility: Facility
    units: tuple[Unit, ...]
    residents: tuple[Resident, ...]
    orders: tuple[Order, ...]


def _order(rng: random.Random, med: Medication, resident_id: str, start: datetime) -> Order:
    return Order(
        order_id=new_id(),
        resident_id=resident_id,
        drug=med.drug,
        strength=med.strength,
        form=med.form,
        gtins=(med.gtin,),
        ndcs=(med.ndc,),
        dose=med.dose,
        dose_unit=med.dose_unit,
        route=med.route,
        schedule=med.schedule,
        start=start,
        instructions=med.instructions,
        prescriber=rng.choice(PRESCRIBERS),
        controlled_schedule=med.controlled_schedule,
        time_critical=med.time_critical,
        hold_parameters=med.hold_parameters,
        site_required=med.site_required,
    )


def demo_facility(
    *,
    residents_per_unit: int = 20,
    unit_names: tuple[str, ...] = ("Maple Wing", "Oak Wing"),
    orders_start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    seed: int = 7,
    timezone: str = "America/Chicago",
) -> DemoFacility:
    """Deterministic demo data: names, rooms and regimens follow ``seed``; ids are fresh."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    facility = Facility(
        facility_id=new_id(), name="Riverbend Care Center (demo)", timezone=timezone
    )
    units = tuple(Unit(unit_id=new_id(), name=name) for name in unit_names)
    residents: list[Resident] = []
    orders: list[Order] = []
    wristbands = rng.sample(range(100000, 999999), residents_per_unit * len(units))
    for unit_index, unit in enumerate(units):
        for index in range(residents_per_unit):
            number = (unit_index + 1) * 100 + index // 2 + 1
            allergies = tuple(rng.sample(ALLERGY_CHOICES, k=rng.choice((0, 0, 1, 1, 2))))
            given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
            resident = Resident(
                resident_id=new_id(),
                unit_id=unit.unit_id,
                given_name=given,
                family_name=family,
                date_of_birth=date(rng.randint(1928, 1952), rng.randint(1, 12), rng.randint(1, 28)),
                room=f"{number}{'AB'[index % 2]}",
                wristband_id=f"WB{wristbands[len(residents)]}",
                allergies=allergies,
                photo_png_b64=avatar_png_b64(given[:1] + family[:1], len(residents)),
            )
            residents.append(resident)
            scheduled, prns = REGIMENS[(unit_index * residents_per_unit + index) % len(REGIMENS)]
            for key in scheduled + prns:
                orders.append(_order(rng, BY_KEY[key], resident.resident_id, orders_start))
    return DemoFacility(facility, units, tuple(residents), tuple(orders))
