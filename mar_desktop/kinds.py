"""Entry kinds and their versioned body schemas: the vocabulary of the ledger.

Each body model carries ``v`` (schema version). ``body_json`` turns a model into the plain JSON
that goes into an envelope; ``parse_body`` validates a received body against its kind, which the
device does before appending and the server and other devices do before projecting.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from mar_desktop.envelope import Actor, EntryDraft
from mar_desktop.errors import ValidationError
from mar_desktop.model import (
    Facility,
    FacilitySettings,
    Frozen,
    Id,
    Name,
    Order,
    Outcome,
    Resident,
    Text,
    Unit,
    User,
    UtcDatetime,
)

# ---- reference data ---------------------------------------------------------------------------
FACILITY_CONFIGURED = "facility.configured"
SETTINGS_CHANGED = "facility.settings_changed"
UNIT_CREATED = "unit.created"
RESIDENT_ADMITTED = "resident.admitted"
RESIDENT_UPDATED = "resident.updated"
RESIDENT_TRANSFERRED = "resident.transferred"
RESIDENT_DISCHARGED = "resident.discharged"
ORDER_CREATED = "order.created"
ORDER_CHANGED = "order.changed"
ORDER_HELD = "order.held"
ORDER_RESUMED = "order.resumed"
ORDER_DISCONTINUED = "order.discontinued"
USER_CREATED = "user.created"
USER_CHANGED = "user.changed"
DEVICE_ENROLLED = "device.enrolled"
# ---- clinical ---------------------------------------------------------------------------------
ADMINISTRATION_RECORDED = "administration.recorded"
NOTE_AMENDED = "note.amended"
ENTRY_VOIDED = "entry.voided"
PRN_FOLLOWUP_RECORDED = "prn.followup_recorded"
ALERT_RAISED = "alert.raised"
ALERT_ACKNOWLEDGED = "alert.acknowledged"

SERVER_ONLY_KINDS: frozenset[str] = frozenset({FACILITY_CONFIGURED, DEVICE_ENROLLED, ALERT_RAISED})
"""Kinds only the facility's server device records: the facility itself (made with it; its
settings change through ``facility.settings_changed``), a device's enrolment (it registers a
key every tablet then trusts) and alerts (forks, clinical reconciliation). The server refuses
them from any other device. A stand-alone tablet (the demo) records its own facility."""


class Body(Frozen):
    v: Literal[1] = 1


class FacilityConfigured(Body):
    """v2: the settings carry the scope of practice (``FacilitySettings.scope``)."""

    v: Literal[1, 2] = 2  # type: ignore[assignment]
    facility: Facility


class SettingsChanged(Body):
    """v2: the settings carry the scope of practice (``FacilitySettings.scope``)."""

    v: Literal[1, 2] = 2  # type: ignore[assignment]
    before: FacilitySettings
    after: FacilitySettings


class UnitCreated(Body):
    unit: Unit


class ResidentAdmitted(Body):
    resident: Resident


class ResidentUpdated(Body):
    """Replaces the resident's demographic record (e.g. allergies learned later)."""

    resident: Resident


class ResidentTransferred(Body):
    resident_id: Id
    unit_id: Id
    room: Annotated[str, Field(min_length=1, max_length=20)]


class ResidentDischarged(Body):
    resident_id: Id
    reason: Text = ""


class OrderCreated(Body):
    order: Order


class OrderChanged(Body):
    """Replaces an order: ``replaces_order_id`` is discontinued at ``effective_at`` and ``order``
    (a new order id) starts then. The old order and its history stay as they were."""

    replaces_order_id: Id
    order: Order
    reason: Text
    effective_at: UtcDatetime


class OrderStatusChanged(Body):
    """Hold, resume or discontinue an order from ``effective_at`` on."""

    order_id: Id
    reason: Text
    effective_at: UtcDatetime


class UserCreated(Body):
    user: User


class UserChanged(Body):
    """The whole account after the change; ``before`` is kept for the audit trail."""

    before: User
    after: User
    reason: Text = ""


class DeviceEnrolled(Body):
    device_id: Id
    public_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    label: Annotated[str, Field(max_length=100)] = ""


class Vitals(Frozen):
    """Vital signs as decimal strings; only those taken are present."""

    pulse: Decimal | None = Field(None, ge=0, le=300)
    systolic_bp: Decimal | None = Field(None, ge=0, le=300)
    diastolic_bp: Decimal | None = Field(None, ge=0, le=200)
    glucose: Decimal | None = Field(None, ge=0, le=1000)  # mg/dL
    respiratory_rate: Decimal | None = Field(None, ge=0, le=100)
    spo2: Decimal | None = Field(None, ge=0, le=100)
    temperature: Decimal | None = Field(None, ge=25, le=45)  # °C

    def get(self, name: str) -> Decimal | None:
        value = getattr(self, name)
        return value if isinstance(value, Decimal) else None


class WitnessAttestation(Frozen):
    """A second licensed person who authenticated on this device (Schedule II)."""

    user_id: Id
    full_name: Name
    role: str
    credentials: str = ""
    authenticated_at: UtcDatetime
    method: Literal["password+totp"] = "password+totp"
    meaning: str = "Witnessed administration and any waste"


class ScanRecord(Frozen):
    """What the bedside checks established."""

    wristband_scanned: bool = False
    identity_confirmed: bool = False  # explicit confirmation when no wristband scan
    medication_scanned: bool = False
    gtin: str | None = None
    ndc: str | None = None
    lot: str | None = None
    expiry: str | None = None  # ISO date


class AdministrationRecorded(Body):
    resident_id: Id
    order_id: Id
    scheduled_for: UtcDatetime | None  # None for PRN
    administered_at: UtcDatetime
    outcome: Outcome
    reason_code: str | None = None
    reason_text: Text = ""
    dose_given: Decimal | None = None
    dose_unit: str = ""
    route: str = ""
    site: str = ""
    vitals: Vitals = Vitals()
    prn_reason: Text = ""
    pain_score: int | None = Field(None, ge=0, le=10)
    outside_window_reason: Text = ""
    witness: WitnessAttestation | None = None
    scan: ScanRecord = ScanRecord()
    note: Text = ""
    signature_meaning: str = "Administered as documented"


class NoteAmended(Body):
    target_entry_id: Id  # the administration
    text: Text


class EntryVoided(Body):
    target_entry_id: Id
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class PrnFollowupRecorded(Body):
    target_entry_id: Id  # the PRN administration
    effective: Literal["effective", "partially_effective", "not_effective"]
    pain_score: int | None = Field(None, ge=0, le=10)
    note: Text = ""
    assessed_at: UtcDatetime


ALERT_TYPES_V1 = frozenset(
    {
        "double_dose",
        "discontinued_order_dose",
        "prn_interval",
        "prn_daily_max",
        "clock_skew",
        "fork",
    }
)


class AlertRaised(Body):
    """v2: the ``snapshot_mismatch`` type (a tablet found, once its history was complete, that
    the chains disagree with the server's snapshot it started from). Every other type is still
    written as v1, so older tablets keep applying those."""

    v: Literal[1, 2] = 1  # type: ignore[assignment]
    alert_id: Id
    alert_type: Literal[
        "double_dose",
        "discontinued_order_dose",
        "prn_interval",
        "prn_daily_max",
        "clock_skew",
        "fork",  # the server holds different bytes for a device's seq (cloned/restored tablet)
        "snapshot_mismatch",
    ]
    resident_id: Id | None = None
    order_id: Id | None = None
    related_entry_ids: tuple[Id, ...] = ()
    device_id: Id | None = None
    detail: Text = ""


    @model_validator(mode="after")
    def _type_of_version(self) -> AlertRaised:
        if self.v == 1 and self.alert_type not in ALERT_TYPES_V1:
            raise ValueError(f"alert type {self.alert_type} needs body version 2")
        return self


class AlertAcknowledged(Body):
    alert_id: Id
    comment: Annotated[str, Field(min_length=1, max_length=2000)]


class AuditEvent(Body):
    """Body of every ``audit.<action>`` entry (docs/architecture.md#the-audit-chain). Never
    holds secrets."""

    user_id: str
    user_name: str
    role: str
    ip: str | None = None
    entity_type: str = ""
    entity_id: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    detail: Text = ""


BODY_TYPES: dict[str, type[Body]] = {
    FACILITY_CONFIGURED: FacilityConfigured,
    SETTINGS_CHANGED: SettingsChanged,
    UNIT_CREATED: UnitCreated,
    RESIDENT_ADMITTED: ResidentAdmitted,
    RESIDENT_UPDATED: ResidentUpdated,
    RESIDENT_TRANSFERRED: ResidentTransferred,
    RESIDENT_DISCHARGED: ResidentDischarged,
    ORDER_CREATED: OrderCreated,
    ORDER_CHANGED: OrderChanged,
    ORDER_HELD: OrderStatusChanged,
    ORDER_RESUMED: OrderStatusChanged,
    ORDER_DISCONTINUED: OrderStatusChanged,
    USER_CREATED: UserCreated,
    USER_CHANGED: UserChanged,
    DEVICE_ENROLLED: DeviceEnrolled,
    ADMINISTRATION_RECORDED: AdministrationRecorded,
    NOTE_AMENDED: NoteAmended,
    ENTRY_VOIDED: EntryVoided,
    PRN_FOLLOWUP_RECORDED: PrnFollowupRecorded,
    ALERT_RAISED: AlertRaised,
    ALERT_ACKNOWLEDGED: AlertAcknowledged,
}

AUDIT_KIND_PREFIX = "audit."


def body_json(body: Body) -> dict[str, Any]:
    """The JSON form of a body as it goes into an envelope (decimals as strings, UTC times)."""
    return body.model_dump(mode="json")


def draft(kind: str, actor: Actor, body: Body, entry_id: str | None = None) -> EntryDraft:
    """The draft recording ``body`` (already validated: it is a model) as a ``kind`` entry.

    Raises ValidationError if ``body`` is not the model of ``kind``. The draft keeps the model,
    so the ledger does not validate its JSON again."""
    if type(body) is not body_type(kind):
        raise ValidationError(f"{kind}: the body is a {type(body).__name__}")
    return EntryDraft(kind, actor, body_json(body), entry_id, model=body)


def body_type(kind: str) -> type[Body]:
    if kind.startswith(AUDIT_KIND_PREFIX):
        return AuditEvent
    try:
        return BODY_TYPES[kind]
    except KeyError:
        raise ValidationError(f"unknown entry kind {kind!r}") from None


def known_version(kind: str) -> int | None:
    """The body version this code knows for ``kind`` (audit kinds: the audit body's), or
    None for a kind it does not know."""
    model = AuditEvent if kind.startswith(AUDIT_KIND_PREFIX) else BODY_TYPES.get(kind)
    if model is None:
        return None
    versions = get_args(model.model_fields["v"].annotation)
    return max(versions) if versions else 1


def from_newer_version(kind: str, body: Mapping[str, Any]) -> bool:
    """True if the entry was written by a newer version of the app: its kind is unknown here,
    or its body says a higher ``v`` than this code knows. Such an entry is kept and
    chain-verified but not applied (see ``docs/architecture.md``, versions and rollout); any
    other body that does not validate is invalid. Every change to a body's fields raises its
    ``v``, so an older tablet can tell the two apart."""
    known = known_version(kind)
    if known is None:
        return True
    version = body.get("v")
    return isinstance(version, int) and not isinstance(version, bool) and version > known


def parse_body(kind: str, body: dict[str, Any]) -> Body:
    """Validates ``body`` for ``kind``. Raises :class:`ValidationError` naming the first problem."""
    model = body_type(kind)
    try:
        return model.model_validate(body)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise ValidationError(f"{kind}: {where}: {first.get('msg', 'invalid')}") from None


__all__ = [name for name in globals() if name.isupper() or name[:1].isupper()] + [
    "Name",
    "body_json",
    "body_type",
    "draft",
    "from_newer_version",
    "known_version",
    "parse_body",
]
