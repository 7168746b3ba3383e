"""A small, realistic medication catalogue for the demo facility (fictional product codes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mar_desktop.model import HoldParameter, Schedule


def gs1_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit for a GTIN body (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def gtin_for_ndc(ndc10: str) -> str:
    """GTIN-14 carrying a 10-digit NDC the way US packages do: '003' + NDC + check digit."""
    body = "003" + ndc10.replace("-", "")
    return body + gs1_check_digit(body)


@dataclass(frozen=True)
class Medication:
    key: str
    drug: str
    strength: str
    form: str
    ndc: str  # 5-3-2 hyphenated, fictional labeler 99xxx
    dose: Decimal
    dose_unit: str
    route: str
    schedule: Schedule
    instructions: str = ""
    controlled_schedule: str | None = None
    time_critical: bool = False
    hold_parameters: tuple[HoldParameter, ...] = ()
    site_required: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def gtin(self) -> str:
        return gtin_for_ndc(self.ndc)


def _fixed(*times: str, days: tuple[int, ...] | None = None) -> Schedule:
    return Schedule(kind="fixed_times", times=times, days_of_week=days)


def _prn(interval_minutes: int, max_doses: int) -> Schedule:
    return Schedule(
        kind="prn", prn_min_interval_minutes=interval_minutes, prn_max_doses_24h=max_doses
    )


def _hold(vital: str, minimum: str | None = None, maximum: str | None = None) -> HoldParameter:
    return HoldParameter.model_validate({"vital": vital, "minimum": minimum, "maximum": maximum})


D = Decimal
CATALOG: tuple[Medication, ...] = (
    Medication(
        "metoprolol",
        "Metoprolol tartrate",
        "25 mg",
        "tablet",
        "99101-251-01",
        D(25),
        "mg",
        "oral",
        _fixed("08:00", "20:00"),
        "Check apical pulse and BP first.",
        hold_parameters=(_hold("pulse", "60"), _hold("systolic_bp", "100")),
    ),
    Medication(
        "lisinopril",
        "Lisinopril",
        "10 mg",
        "tablet",
        "99102-100-01",
        D(10),
        "mg",
        "oral",
        _fixed("09:00"),
        hold_parameters=(_hold("systolic_bp", "100"),),
    ),
    Medication(
        "metformin",
        "Metformin",
        "500 mg",
        "tablet",
        "99103-500-01",
        D(500),
        "mg",
        "oral",
        _fixed("08:00", "17:00"),
        "Give with meals.",
    ),
    Medication(
        "levothyroxine",
        "Levothyroxine",
        "50 mcg",
        "tablet",
        "99104-050-01",
        D(50),
        "mcg",
        "oral",
        _fixed("06:00"),
        "Give on an empty stomach.",
    ),
    Medication(
        "atorvastatin",
        "Atorvastatin",
        "20 mg",
        "tablet",
        "99105-200-01",
        D(20),
        "mg",
        "oral",
        _fixed("21:00"),
    ),
    Medication(
        "donepezil",
        "Donepezil",
        "5 mg",
        "tablet",
        "99106-050-01",
        D(5),
        "mg",
        "oral",
        _fixed("21:00"),
    ),
    Medication(
        "glargine",
        "Insulin glargine",
        "100 units/mL",
        "pen",
        "99107-100-05",
        D(20),
        "units",
        "subcutaneous",
        _fixed("21:00"),
        "Rotate sites.",
        hold_parameters=(_hold("glucose", "70"),),
        site_required=True,
        tags=frozenset({"insulin"}),
    ),
    Medication(
        "lispro",
        "Insulin lispro",
        "100 units/mL",
        "pen",
        "99108-100-05",
        D(4),
        "units",
        "subcutaneous",
        _fixed("07:30", "11:30", "16:30"),
        "Give within 15 minutes before meals.",
        time_critical=True,
        hold_parameters=(_hold("glucose", "80"),),
        site_required=True,
        tags=frozenset({"insulin"}),
    ),
    Medication(
        "furosemide",
        "Furosemide",
        "20 mg",
        "tablet",
        "99109-200-01",
        D(20),
        "mg",
        "oral",
        _fixed("08:00"),
    ),
    Medication(
        "sertraline",
        "Sertraline",
        "50 mg",
        "tablet",
        "99110-500-01",
        D(50),
        "mg",
        "oral",
        _fixed("09:00"),
    ),
    Medication(
        "amlodipine",
        "Amlodipine",
        "5 mg",
        "tablet",
        "99111-050-01",
        D(5),
        "mg",
        "oral",
        _fixed("09:00"),
        hold_parameters=(_hold("systolic_bp", "100"),),
    ),
    Medication(
        "carbidopa",
        "Carbidopa/levodopa",
        "25/100 mg",
        "tablet",
        "99112-251-01",
        D(1),
        "tablet",
        "oral",
        _fixed("06:00", "10:00", "14:00", "18:00"),
        "Time-critical for Parkinson's disease.",
        time_critical=True,
    ),
    Medication(
        "vitamin_d",
        "Cholecalciferol (vitamin D3)",
        "1000 IU",
        "tablet",
        "99113-100-01",
        D(1000),
        "IU",
        "oral",
        _fixed("09:00"),
    ),
    Medication(
        "omeprazole",
        "Omeprazole",
        "20 mg",
        "capsule",
        "99114-200-01",
        D(20),
        "mg",
        "oral",
        _fixed("07:00"),
        "Before breakfast.",
    ),
    Medication(
        "alendronate",
        "Alendronate",
        "70 mg",
        "tablet",
        "99115-700-01",
        D(70),
        "mg",
        "oral",
        _fixed("06:00", days=(0,)),
        "Weekly, Monday. Upright 30 minutes.",
    ),
    Medication(
        "morphine_er",
        "Morphine sulfate ER",
        "15 mg",
        "tablet",
        "99116-150-01",
        D(15),
        "mg",
        "oral",
        Schedule(kind="every_n_hours", every_hours=12, anchor="08:00"),
        "Do not crush.",
        controlled_schedule="II",
        tags=frozenset({"opioid"}),
    ),
    Medication(
        "acetaminophen",
        "Acetaminophen",
        "325 mg",
        "tablet",
        "99117-325-01",
        D(650),
        "mg",
        "oral",
        _prn(240, 4),
        "For mild pain or fever. Max 2,600 mg/24 h.",
        tags=frozenset({"prn"}),
    ),
    Medication(
        "oxycodone",
        "Oxycodone",
        "5 mg",
        "tablet",
        "99118-050-01",
        D(5),
        "mg",
        "oral",
        _prn(240, 4),
        "For severe pain (score 7-10).",
        controlled_schedule="II",
        tags=frozenset({"prn", "opioid"}),
    ),
    Medication(
        "lorazepam",
        "Lorazepam",
        "0.5 mg",
        "tablet",
        "99119-005-01",
        D("0.5"),
        "mg",
        "oral",
        _prn(480, 2),
        "For anxiety.",
        controlled_schedule="IV",
        tags=frozenset({"prn"}),
    ),
    Medication(
        "ondansetron",
        "Ondansetron",
        "4 mg",
        "tablet",
        "99120-040-01",
        D(4),
        "mg",
        "oral",
        _prn(480, 3),
        "For nausea.",
        tags=frozenset({"prn"}),
    ),
    Medication(
        "mom",
        "Magnesium hydroxide (milk of magnesia)",
        "400 mg/5 mL",
        "suspension",
        "99121-400-30",
        D(30),
        "mL",
        "oral",
        _prn(1440, 1),
        "For constipation.",
        tags=frozenset({"prn"}),
    ),
)

BY_KEY = {med.key: med for med in CATALOG}
