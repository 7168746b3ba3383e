"""Domain model: facility, units, residents, users and medication orders.

Frozen pydantic models so the same type validates input, travels in entry bodies and is what
projections hand back. Times are aware UTC ``datetime``; local wall-clock times of day are
``HH:MM`` strings interpreted in the facility's time zone; quantities are ``Decimal`` (encoded
as decimal strings, never floats).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from mar_desktop.clinical.routes import Route

Id = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(max_length=2000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry a time zone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]
"""An aware time normalised to UTC, so its JSON form is always ``...Z``."""
HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    """One role per account; what each may do is :data:`mar_desktop.permissions.
    ROLE_PERMISSIONS` (docs/roles.md)."""

    FACILITY_ADMIN = "facility_admin"
    DIRECTOR_OF_NURSING = "director_of_nursing"
    NURSE = "nurse"
    CNA = "cna"
    PHARMACIST = "pharmacist"
    READ_ONLY = "read_only"


LICENSED_ROLES = frozenset({Role.NURSE, Role.DIRECTOR_OF_NURSING})
"""Roles whose every account holds a nursing licence."""
LICENSED_VERIFIER_ROLES = frozenset({Role.NURSE, Role.DIRECTOR_OF_NURSING, Role.PHARMACIST})
"""Roles whose accounts hold a licence that lets them verify an order (a nursing licence or a
pharmacist's)."""
NURSING_LICENCES = frozenset({"RN", "LPN", "LVN", "NP", "APRN"})
"""Credentials that make a facility admin's account licensed (as a witness, say)."""
WITNESS_LICENCE = (
    "The witness must be a licensed nurse or pharmacist, or a facility administrator whose "
    "account records a nursing licence."
)


class Outcome(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    HELD = "held"
    NOT_AVAILABLE = "not_available"
    AWAY = "away"
    OTHER = "other"


class DoseStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    LATE = "late"
    MISSED = "missed"
    GIVEN = "given"
    REFUSED = "refused"
    HELD = "held"
    NOT_GIVEN = "not_given"  # not available, away, other
    VOIDED = "voided"  # the only recording was voided and the window has closed


class ReasonCode(Frozen):
    code: Annotated[str, Field(min_length=1, max_length=16)]
    label: Name
    outcomes: tuple[Outcome, ...] = ()  # empty: any outcome


DEFAULT_REASON_CODES: tuple[ReasonCode, ...] = (
    ReasonCode(code="R", label="Refused by resident", outcomes=(Outcome.REFUSED,)),
    ReasonCode(code="H", label="Held: outside hold parameters", outcomes=(Outcome.HELD,)),
    ReasonCode(code="HP", label="Held per prescriber", outcomes=(Outcome.HELD,)),
    ReasonCode(code="NPO", label="Nothing by mouth", outcomes=(Outcome.HELD,)),
    ReasonCode(code="NA", label="Not available from pharmacy", outcomes=(Outcome.NOT_AVAILABLE,)),
    ReasonCode(code="LOA", label="Resident away / leave of absence", outcomes=(Outcome.AWAY,)),
    ReasonCode(code="HOSP", label="Resident in hospital", outcomes=(Outcome.AWAY,)),
    ReasonCode(code="SL", label="Resident asleep", outcomes=(Outcome.OTHER,)),
    ReasonCode(code="O", label="Other (see note)", outcomes=(Outcome.OTHER,)),
)


ControlledSchedule = Literal["II", "III", "IV", "V"]


class RoleScope(Frozen):
    """What an unlicensed role may administer at this facility: the routes and the controlled
    schedules (a medication with no schedule needs only its route)."""

    role: Role
    routes: tuple[Route, ...]
    schedules: tuple[ControlledSchedule, ...] = ()


DEFAULT_SCOPE: tuple[RoleScope, ...] = (
    RoleScope(
        role=Role.CNA,
        routes=(
            Route.ORAL,
            Route.SUBLINGUAL,
            Route.TOPICAL,
            Route.TRANSDERMAL,
            Route.OPHTHALMIC,
            Route.OTIC,
            Route.NASAL,
            Route.INHALED,
            Route.RECTAL,
        ),
        schedules=("III", "IV", "V"),
    ),
)
"""Common US long-term-care practice for medication aides: no injections, no Schedule II."""


ScanTarget = Literal["wristband", "medication"]


class ScanBypassReason(Frozen):
    """A reason the facility accepts for confirming by hand instead of scanning, and which
    scan(s) it explains (mar_desktop/clinical/overrides.py)."""

    code: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]
    label: Name
    applies_to: Annotated[tuple[ScanTarget, ...], Field(min_length=1, max_length=2)]


DEFAULT_SCAN_BYPASS_REASONS: tuple[ScanBypassReason, ...] = (
    ScanBypassReason(code="band_missing", label="Wristband missing", applies_to=("wristband",)),
    ScanBypassReason(
        code="band_unreadable", label="Wristband damaged or unreadable", applies_to=("wristband",)
    ),
    ScanBypassReason(
        code="band_refused", label="Resident refuses to wear a wristband",
        applies_to=("wristband",),
    ),
    ScanBypassReason(
        code="barcode_damaged", label="Barcode damaged or unreadable", applies_to=("medication",)
    ),
    ScanBypassReason(
        code="no_barcode", label="Product has no barcode (e.g. bulk or compounded)",
        applies_to=("medication",),
    ),
    ScanBypassReason(
        code="scanner_down", label="Scanner not working", applies_to=("wristband", "medication")
    ),
)
"""Why a scan may be bypassed, by default: one tap each on the dose screen."""


class FacilitySettings(Frozen):
    """Per-facility clinical and security defaults (docs/architecture.md#clinical-defaults and
    #security)."""

    window_time_critical_minutes: int = Field(30, ge=0, le=240)
    window_frequent_minutes: int = Field(60, ge=0, le=240)
    window_daily_minutes: int = Field(120, ge=0, le=480)
    # A dose is LATE this long after its window closes, then MISSED.
    missed_after_minutes: int = Field(240, ge=0, le=1440)
    inactivity_lock_seconds: int = Field(300, ge=30, le=3600)
    reauth_hours: int = Field(12, ge=1, le=12)
    password_min_length: int = Field(12, ge=8, le=64)
    prn_followup_minutes: int = Field(60, ge=5, le=1440)
    emergency_access_minutes: int = Field(60, ge=5, le=720)
    clock_skew_alert_seconds: int = Field(300, ge=10)
    unsynced_warning_hours: int = Field(4, ge=1, le=168)
    offline_signin_hours: int = Field(72, ge=1, le=720)
    """Sign-in without reaching the server: an enrolled tablet that has not synced for longer
    shows no PHI except through audited break-glass (mar_desktop/people/offline.py)."""
    reason_codes: tuple[ReasonCode, ...] = DEFAULT_REASON_CODES
    scope: tuple[RoleScope, ...] = DEFAULT_SCOPE
    """Scope of practice of unlicensed roles; a licensed account is not narrowed by it, and an
    unlicensed role not listed may administer nothing."""
    scan_bypass_reasons: tuple[ScanBypassReason, ...] = DEFAULT_SCAN_BYPASS_REASONS
    """The reasons a nurse may give for confirming identity or medication by hand instead of
    scanning; any other reason, or none, is refused. Each scan keeps at least one reason."""

    @model_validator(mode="after")
    def _bypass_reasons_usable(self) -> FacilitySettings:
        codes = [r.code for r in self.scan_bypass_reasons]
        if len(set(codes)) != len(codes):
            raise ValueError("each scan-bypass reason code may be listed only once")
        for target in ("wristband", "medication"):
            if not any(target in r.applies_to for r in self.scan_bypass_reasons):
                raise ValueError(f"keep at least one reason for bypassing the {target} scan")
        return self


class Facility(Frozen):
    facility_id: Id
    name: Name
    timezone: str
    settings: FacilitySettings = FacilitySettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Unit(Frozen):
    unit_id: Id
    name: Name


class Allergy(Frozen):
    substance: Name
    reaction: Text = ""
    severity: Literal["mild", "moderate", "severe", "unknown"] = "unknown"


class Resident(Frozen):
    resident_id: Id
    unit_id: Id
    given_name: Name
    family_name: Name
    date_of_birth: date
    room: Annotated[str, Field(min_length=1, max_length=20)]
    wristband_id: Annotated[str, Field(min_length=1, max_length=64)]
    allergies: tuple[Allergy, ...] = ()
    photo_png_b64: str | None = Field(None, max_length=200_000)
    active: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


ALL_UNITS = "*"
"""The unit assignment that means every unit, chosen explicitly: ``unit_ids == ("*",)``. An
account whose ``unit_ids`` is empty is assigned to no unit and sees no resident (unless its
role sees every unit). An older tablet reads ``"*"`` as a unit that does not exist: the account
sees nothing there until that tablet is updated (it fails closed)."""


class User(Frozen):
    """An account as everyone may see it. Credentials live elsewhere
    (docs/architecture.md#credentials).

    ``unit_ids``: the units the account is assigned to; ``(ALL_UNITS,)`` for every unit; empty
    for none. Roles in :data:`mar_desktop.permissions.ALL_UNIT_ROLES` see every unit whatever
    their assignment."""

    user_id: Id
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9._-]+$")]
    full_name: Name
    initials: Annotated[str, Field(min_length=1, max_length=4)]
    credentials: Annotated[str, Field(max_length=20)] = ""  # licence, e.g. "RN", "LPN", "CNA"
    role: Role
    unit_ids: tuple[Id, ...] = ()  # empty: no unit; (ALL_UNITS,): every unit
    active: bool = True

    @field_validator("unit_ids")
    @classmethod
    def _all_units_alone(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if ALL_UNITS in value and len(value) > 1:
            raise ValueError("'all units' is chosen alone, not with named units")
        return value

    @property
    def all_units(self) -> bool:
        """Assigned to every unit, explicitly (``unit_ids == (ALL_UNITS,)``)."""
        return self.unit_ids == (ALL_UNITS,)

    @property
    def licensed(self) -> bool:
        """A nurse, or a facility admin whose account records a nursing licence."""
        if self.role in LICENSED_ROLES:
            return True
        held = {part.strip(" .").upper() for part in self.credentials.replace("/", ",").split(",")}
        return self.role == Role.FACILITY_ADMIN and bool(held & NURSING_LICENCES)


VitalName = Literal[
    "pulse", "systolic_bp", "diastolic_bp", "glucose", "respiratory_rate", "spo2", "temperature"
]


class HoldParameter(Frozen):
    """Hold the dose if ``vital`` is below ``minimum`` or above ``maximum``."""

    vital: VitalName
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> HoldParameter:
        if self.minimum is None and self.maximum is None:
            raise ValueError("a hold parameter needs a minimum or a maximum")
        return self


class Schedule(Frozen):
    """When an order is due. ``fixed_times`` and ``every_n_hours`` are local wall-clock times."""

    kind: Literal["fixed_times", "every_n_hours", "prn"]
    times: tuple[HHMM, ...] = ()
    every_hours: int | None = Field(None, ge=1, le=72)
    anchor: HHMM = "00:00"
    days_of_week: tuple[int, ...] | None = None  # 0 = Monday; None: every day
    prn_min_interval_minutes: int | None = Field(None, ge=0)
    prn_max_doses_24h: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        if self.kind == "fixed_times" and not self.times:
            raise ValueError("a fixed-times schedule needs at least one time")
        if self.kind == "every_n_hours" and self.every_hours is None:
            raise ValueError("an every-N-hours schedule needs every_hours")
        if self.days_of_week is not None and (
            not self.days_of_week or any(d < 0 or d > 6 for d in self.days_of_week)
        ):
            raise ValueError("days_of_week are 0 (Monday) to 6 (Sunday)")
        return self

    def doses_per_day(self) -> float:
        if self.kind == "fixed_times":
            return len(self.times) * (len(self.days_of_week or range(7)) / 7)
        if self.kind == "every_n_hours" and self.every_hours:
            return 24 / self.every_hours
        return 0.0


class PrnIndication(Frozen):
    """What a PRN order is for, as a score range: "for severe pain (7–10)". A dose given at a
    score outside it (or with no score) needs an acknowledged reason, stored as an override
    (mar_desktop/clinical/overrides.py)."""

    scale: Literal["pain"] = "pain"
    minimum: int = Field(ge=0, le=10)
    maximum: int = Field(ge=0, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> PrnIndication:
        if self.minimum > self.maximum:
            raise ValueError("the indication's lowest score is above its highest")
        return self

    @property
    def words(self) -> str:
        """E.g. "pain 7–10"."""
        return f"{self.scale} {self.minimum}–{self.maximum}"


class SlidingScaleRow(Frozen):
    """One row of a sliding scale: a glucose (mg/dL) from ``glucose_min`` to ``glucose_max``
    (both inclusive) gives ``dose`` in the order's unit (0: no dose at that glucose)."""

    glucose_min: Decimal = Field(ge=0, le=1000)
    glucose_max: Decimal = Field(ge=0, le=1000)
    dose: Decimal = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SlidingScaleRow:
        if self.glucose_max < self.glucose_min:
            raise ValueError("a sliding scale row's glucose maximum is below its minimum")
        return self


ORDER_V3_FIELDS = (
    "dose_max", "sliding_scale", "max_amount_24h", "max_amount_unit", "ingredient", "prn_indication"
)
"""The order fields an order body of v3 may carry (ranges, sliding scales, daily amount
maxima, PRN indication ranges). An order using none of them serialises exactly as before they
existed, so it stays readable by older tablets (:func:`mar_desktop.kinds.order_body_version`)."""


class Order(Frozen):
    order_id: Id
    resident_id: Id
    drug: Name
    strength: Annotated[str, Field(max_length=60)] = ""
    form: Annotated[str, Field(max_length=60)] = ""
    gtins: tuple[Annotated[str, Field(pattern=r"^\d{8,14}$")], ...] = ()
    ndcs: tuple[Annotated[str, Field(pattern=r"^[\d-]{10,13}$")], ...] = ()
    dose: Decimal = Field(gt=0)
    dose_unit: Annotated[str, Field(min_length=1, max_length=20)]
    route: Annotated[str, Field(min_length=1, max_length=40)]
    schedule: Schedule
    start: UtcDatetime
    end: UtcDatetime | None = None
    instructions: Text = ""
    prescriber: Annotated[str, Field(max_length=200)] = ""
    controlled_schedule: Literal["II", "III", "IV", "V"] | None = None
    time_critical: bool = False
    hold_parameters: tuple[HoldParameter, ...] = ()
    site_required: bool = False
    prn_followup_minutes: int | None = Field(None, ge=5, le=1440)
    prn_indication: PrnIndication | None = None
    """A PRN order's indication range (an order carrying one is v3, like the dose fields
    below, and absent from the JSON when there is none)."""
    dose_max: Decimal | None = Field(None, gt=0)
    """A dose range: any amount from ``dose`` to ``dose_max`` (both inclusive), order's unit."""
    sliding_scale: tuple[SlidingScaleRow, ...] = ()
    """A sliding scale: the dose is the row for the glucose measured before it."""
    max_amount_24h: Decimal | None = Field(None, gt=0)
    """The most of ``ingredient`` the resident may receive in any 24 hours, from all orders."""
    max_amount_unit: Annotated[str, Field(max_length=20)] = ""
    ingredient: Annotated[str, Field(max_length=100)] = ""
    """The ingredient a daily maximum counts (blank: from the drug name)."""

    @property
    def uses_v3_fields(self) -> bool:
        """Whether the order has a range, a sliding scale, a daily amount maximum or a PRN
        indication range."""
        return any(getattr(self, name) not in (None, (), "") for name in ORDER_V3_FIELDS)

    @model_serializer(mode="wrap")
    def _omit_unused_v3_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        for name in ORDER_V3_FIELDS:
            if getattr(self, name) in (None, (), ""):
                data.pop(name, None)
        return data

    @property
    def is_prn(self) -> bool:
        return self.schedule.kind == "prn"

    @property
    def needs_witness(self) -> bool:
        return self.controlled_schedule == "II"

    @model_validator(mode="after")
    def _dates(self) -> Order:
        if self.start.tzinfo is None or (self.end is not None and self.end.tzinfo is None):
            raise ValueError("order start and end must carry a time zone")
        if self.end is not None and self.end <= self.start:
            raise ValueError("order end must be after its start")
        if self.prn_indication is not None and not self.is_prn:
            raise ValueError("only an as-needed (PRN) order has an indication range")
        return self

    @model_validator(mode="after")
    def _dose_forms(self) -> Order:
        if self.dose_max is not None and self.dose_max <= self.dose:
            raise ValueError("a dose range's maximum must be above its minimum")
        if self.sliding_scale and self.dose_max is not None:
            raise ValueError("an order has a dose range or a sliding scale, not both")
        rows = sorted(self.sliding_scale, key=lambda r: r.glucose_min)
        if any(b.glucose_min <= a.glucose_max for a, b in pairwise(rows)):
            raise ValueError("the sliding scale's glucose ranges overlap")
        if (self.max_amount_24h is None) != (not self.max_amount_unit.strip()):
            raise ValueError("a daily maximum needs both an amount and its unit")
        return self
