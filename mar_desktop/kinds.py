"""Entry kinds and their versioned body schemas: the vocabulary of the ledger.

Each body model carries ``v`` (schema version). ``body_json`` turns a model into the plain JSON
that goes into an envelope; ``parse_body`` validates a received body against its kind, which the
device does before appending and the server and other devices do before projecting.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from mar_desktop.clinical.overrides import OverrideCode
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
    Role,
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
ORDER_VERIFIED = "order.verified"
ORDER_RETURNED = "order.returned"
ORDERS_VERIFIED_AT_UPGRADE = "order.verified_at_upgrade"
VERIFICATION_SETTING_CHANGED = "facility.order_verification_changed"
USER_CREATED = "user.created"
USER_CHANGED = "user.changed"
DEVICE_ENROLLED = "device.enrolled"
DEVICE_REVOKED = "device.revoked"
# ---- clinical ---------------------------------------------------------------------------------
ADMINISTRATION_RECORDED = "administration.recorded"
NOTE_AMENDED = "note.amended"
ENTRY_VOIDED = "entry.voided"
PRN_FOLLOWUP_RECORDED = "prn.followup_recorded"
ALERT_RAISED = "alert.raised"
ALERT_ACKNOWLEDGED = "alert.acknowledged"
URGENT_DOSE_RECORDED = "administration.urgent_unverified"
WITNESS_ATTESTED = "witness.attested"
DOSE_WASTED = "administration.wasted"
SHIFT_ASSIGNED = "shift.assigned"
ADMINISTRATION_OVERRIDES = "administration.overrides"
PARTIAL_DOSE_RECORDED = "administration.partial"
ORDER_DECISION_SIGNED = "order.decision_signed"

SERVER_ONLY_KINDS: frozenset[str] = frozenset(
    {FACILITY_CONFIGURED, DEVICE_ENROLLED, DEVICE_REVOKED, ALERT_RAISED, ORDERS_VERIFIED_AT_UPGRADE}
)
"""Kinds only the facility's server device records: the facility itself (made with it; its
settings change through ``facility.settings_changed``), a device's enrolment (it registers a
key every tablet then trusts) and revocation (the revoked tablet erases itself on it), alerts
(forks, clinical reconciliation) and the one entry that marks the orders existing at the upgrade
to order verification as verified. The server refuses them from any other device. A stand-alone
tablet (the demo) records its own facility."""

NEW_ROLES: frozenset[Role] = frozenset({Role.DIRECTOR_OF_NURSING, Role.PHARMACIST})
"""Roles an older app does not know: a ``user.*`` body naming one is v2, so an older tablet
keeps it unapplied (that account cannot sign in there) instead of refusing it as invalid."""


class Body(Frozen):
    v: Literal[1] = 1


class FacilityConfigured(Body):
    """v2: the settings carry the scope of practice (``FacilitySettings.scope``); v3: the
    offline limit (``FacilitySettings.offline_signin_hours``); v4: the scan-bypass reasons
    (``FacilitySettings.scan_bypass_reasons``)."""

    v: Literal[1, 2, 3, 4] = 4  # type: ignore[assignment]
    facility: Facility


class SettingsChanged(Body):
    """v2: the settings carry the scope of practice (``FacilitySettings.scope``); v3: the
    offline limit (``FacilitySettings.offline_signin_hours``); v4: the scan-bypass reasons
    (``FacilitySettings.scan_bypass_reasons``)."""

    v: Literal[1, 2, 3, 4] = 4  # type: ignore[assignment]
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


Verification = Literal["required", "not_required"]
"""Whether an order must be verified by a second licensed person before it is given
(docs/architecture.md#order-verification). ``not_required``: hand entry while the facility
has turned the requirement off for hand-entered orders (imports always need it)."""
OrderSource = Literal["hand", "import"]


class SourceValue(Frozen):
    """One value of an order as its source gave it (the pharmacy's, for an import)."""

    field: Annotated[str, Field(min_length=1, max_length=60)]
    value: Annotated[str, Field(max_length=2000)]


class OrderProvenance(Frozen):
    """Where an order's values came from and whether it must be verified. Bodies of v1 (written
    before order verification existed) have none: such an order is awaiting verification
    unless ``order.verified_at_upgrade`` names it (the most restrictive reading)."""

    verification: Verification = "required"
    source: OrderSource = "hand"
    source_values: tuple[SourceValue, ...] = ()
    """For an import: the pharmacy's original values, as the bundle said them."""
    source_ref: Annotated[str, Field(max_length=300)] = ""
    """For an import: which request of which bundle (its source key)."""


def order_body_version(order: Order) -> Literal[2, 3]:
    """The lowest order body version that can carry ``order``: 3 when it has a dose range, a
    sliding scale, a daily amount maximum or a PRN indication range (fields an older tablet
    does not know, so it keeps the entry unapplied as "recorded by a newer version"), else 2,
    exactly as before."""
    return 3 if order.uses_v3_fields else 2


def _fill_order_version(data: Any) -> Any:
    """Fills in an absent ``v`` of an order body from its order (:func:`order_body_version`)."""
    if isinstance(data, dict) and "v" not in data:
        order = data.get("order")
        if isinstance(order, dict):
            try:
                order = Order.model_validate(order)
            except PydanticValidationError:
                return data  # the body's own validation names the problem
        if isinstance(order, Order):
            return {**data, "v": order_body_version(order)}
    return data


def _check_order_version(version: int, order: Order) -> None:
    if version < 3 and order.uses_v3_fields:
        raise ValueError(
            "an order with a dose range, sliding scale, daily maximum or PRN indication is v3"
        )


class OrderCreated(Body):
    """v2: ``provenance`` (verification and source). A v1 body needs verification.
    v3: the order has a range, a sliding scale, a daily amount maximum or a PRN indication
    range (and only then)."""

    v: Literal[1, 2, 3] = 2  # type: ignore[assignment]
    order: Order
    provenance: OrderProvenance = OrderProvenance()

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        return _fill_order_version(data)

    @model_validator(mode="after")
    def _v3_fields(self) -> OrderCreated:
        _check_order_version(self.v, self.order)
        return self

    @model_validator(mode="after")
    def _v1_has_no_provenance(self) -> OrderCreated:
        if self.v == 1 and self.provenance != OrderProvenance():
            raise ValueError("a v1 order body has no provenance")
        if self.v < 3 and self.order.prn_indication is not None:
            raise ValueError("an order with a PRN indication needs body v3")
        return self


class OrderChanged(Body):
    """Replaces an order: ``replaces_order_id`` is discontinued at ``effective_at`` and ``order``
    (a new order id) starts then. The old order and its history stay as they were.

    v2: ``provenance`` and ``acts_at_once``. A change that must be verified and does not act at
    once (an increase, or anything not provably a reduction:
    :func:`mar_desktop.clinical.verification.change_effect`) discontinues nothing by itself:
    the replaced order stays givable until the change is verified, when the verifier's
    ``order.discontinued`` ends it. One that acts at once discontinues the old order at
    ``effective_at`` (the writer also records a v1 ``order.discontinued`` for older tablets).
    v3 when the new order has a PRN indication range (and only then)."""

    v: Literal[1, 2, 3] = 2  # type: ignore[assignment]
    replaces_order_id: Id
    order: Order
    reason: Text
    effective_at: UtcDatetime
    provenance: OrderProvenance = OrderProvenance()
    acts_at_once: bool = True

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        return _fill_order_version(data)

    @model_validator(mode="after")
    def _v3_fields(self) -> OrderChanged:
        _check_order_version(self.v, self.order)
        return self

    @model_validator(mode="after")
    def _v1_acts_at_once(self) -> OrderChanged:
        if self.v == 1 and (self.provenance != OrderProvenance() or not self.acts_at_once):
            raise ValueError("a v1 order change has no provenance and acts at once")
        if self.v < 3 and self.order.prn_indication is not None:
            raise ValueError("an order with a PRN indication needs body v3")
        return self

    @property
    def replaces_now(self) -> bool:
        """Whether this entry itself discontinues the replaced order (at ``effective_at``)."""
        return self.acts_at_once or self.provenance.verification == "not_required"


class OrderVerified(Body):
    """A second licensed person checked ``target_entry_id`` (the ``order.created``,
    ``order.changed``, ``order.held``, ``order.resumed`` or ``order.discontinued`` entry of
    ``order_id``) against its source and found it right. Its actor is the verifier; it counts
    only if the verifier is not the author of the target."""

    order_id: Id
    target_entry_id: Id
    target_author_user_id: Id
    note: Text = ""
    signature_meaning: str = "Verified against the source order"


class OrderReturned(Body):
    """The verifier found ``target_entry_id`` wrong: the order is never given (a change that
    was waiting leaves the previous verified version in force)."""

    order_id: Id
    target_entry_id: Id
    target_author_user_id: Id
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    signature_meaning: str = "Returned at verification"


class OrdersVerifiedAtUpgrade(Body):
    """Server-signed, once per facility: the orders in force when the server was upgraded to
    order verification, verified as they were (they were in use before the requirement)."""

    order_ids: tuple[Id, ...]
    detail: Text = ""


class VerificationSettingChanged(Body):
    """Whether hand-entered orders need verification (imports always do). Default: they do."""

    hand_entered_orders: bool
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class OrderStatusChanged(Body):
    """Hold, resume or discontinue an order from ``effective_at`` on."""

    order_id: Id
    reason: Text
    effective_at: UtcDatetime


def _version_for_roles(data: Any, roles: list[object]) -> Any:
    """Fills in ``v`` (when absent) as 2 if any of ``roles`` is one an older app does not know
    (:data:`NEW_ROLES`), else 1: an account of a known role stays readable by older tablets."""
    if isinstance(data, dict) and "v" not in data:
        new = {r.value for r in NEW_ROLES}
        if any(getattr(r, "value", r) in new for r in roles):
            return {**data, "v": 2}
    return data


def _role_of(user: object) -> object:
    return user.get("role") if isinstance(user, dict) else getattr(user, "role", None)


class UserCreated(Body):
    """v2 when the account's role is one of :data:`NEW_ROLES` (and only then)."""

    v: Literal[1, 2] = 1  # type: ignore[assignment]
    user: User

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return _version_for_roles(data, [_role_of(data.get("user"))])

    @model_validator(mode="after")
    def _new_roles_are_v2(self) -> UserCreated:
        if self.v == 1 and self.user.role in NEW_ROLES:
            raise ValueError("a role older apps do not know needs body v2")
        return self


class UserChanged(Body):
    """The whole account after the change; ``before`` is kept for the audit trail. v2 when
    either side's role is one of :data:`NEW_ROLES`."""

    v: Literal[1, 2] = 1  # type: ignore[assignment]
    before: User
    after: User
    reason: Text = ""

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return _version_for_roles(data, [_role_of(data.get("before")), _role_of(data.get("after"))])

    @model_validator(mode="after")
    def _new_roles_are_v2(self) -> UserChanged:
        if self.v == 1 and {self.before.role, self.after.role} & NEW_ROLES:
            raise ValueError("a role older apps do not know needs body v2")
        return self


class DeviceEnrolled(Body):
    device_id: Id
    public_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    label: Annotated[str, Field(max_length=100)] = ""


class DeviceRevoked(Body):
    """The facility revoked a tablet (docs/architecture.md#lost-and-retired-tablets).

    ``retire``: the tablet may still push what it holds until it confirms everything arrived,
    then erases its database. ``lost``: refused from the revocation on; it erases at its next
    contact. Signed by the server device, so the revoked tablet can check the order it obeys
    against the server key it kept at enrolment. Past entries of the device stay valid."""

    device_id: Id
    mode: Literal["retire", "lost"]


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


ALERT_TYPES_V1 = frozenset({
    "double_dose", "discontinued_order_dose", "prn_interval", "prn_daily_max", "clock_skew", "fork",
})


class AlertRaised(Body):
    """v2: an alert type an older tablet does not know (``held_order_dose``,
    ``changed_order_dose``, ``credential_refused``: an account record that did not verify as
    authorised, the order-verification alerts, and ``snapshot_mismatch``: a tablet found, once
    its history was complete, that the chains disagree with the server's snapshot it started
    from): such an alert is written as v2 (given explicitly: a v1 body naming one is refused),
    so an older tablet keeps it unapplied as "recorded by a newer version" instead
    of refusing its body; the types of v1 stay v1 and every tablet shows them."""

    v: Literal[1, 2] = 1  # type: ignore[assignment]
    alert_id: Id
    alert_type: Literal[
        "double_dose",
        "discontinued_order_dose",
        "prn_interval",
        "prn_daily_max",
        "clock_skew",
        "fork",  # the server holds different bytes for a device's seq (cloned/restored tablet)
        "held_order_dose",  # v2: a dose given while the order was held
        "changed_order_dose",  # v2: a dose of an order's old version after it was changed
        "credential_refused",  # v2: an account record that did not verify as authorised
        "urgent_unverified_dose",  # v2: a dose given on an order awaiting verification
        "returned_order_dose",  # v2: a dose given on an order returned at verification
        "unverified_order_dose",  # v2: a dose on an unverified order without an urgent reason
        "snapshot_mismatch",  # v2: a tablet's chains disagree with the snapshot it started from
    ]
    resident_id: Id | None = None
    order_id: Id | None = None
    related_entry_ids: tuple[Id, ...] = ()
    device_id: Id | None = None
    detail: Text = ""

    @model_validator(mode="after")
    def _version_knows_its_type(self) -> AlertRaised:
        if self.v < alert_version(self.alert_type):
            raise ValueError(f"alert type {self.alert_type} is written as v2")
        return self


def alert_version(alert_type: str) -> Literal[1, 2]:
    """The body version an alert of ``alert_type`` is written with."""
    return 1 if alert_type in ALERT_TYPES_V1 else 2


    @model_validator(mode="after")
    def _type_of_version(self) -> AlertRaised:
        if self.v == 1 and self.alert_type not in ALERT_TYPES_V1:
            raise ValueError(f"alert type {self.alert_type} needs body version 2")
        return self


class AlertAcknowledged(Body):
    alert_id: Id
    comment: Annotated[str, Field(min_length=1, max_length=2000)]


class UrgentDoseRecorded(Body):
    """An urgent dose given on an order awaiting verification: the reason and the second
    licensed person who signed in for it. Recorded in the same transaction as the
    ``administration.recorded`` entry it flags (``administration_entry_id``), BEFORE it in the
    chain, so the server's reconciliation meets the flag first. A kind of its own so the dose
    entry itself stays readable by older tablets (they must still count it)."""

    administration_entry_id: Id
    resident_id: Id
    order_id: Id
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    second_person: WitnessAttestation
    order_status: Literal["awaiting_verification"] = "awaiting_verification"


WitnessPurpose = Literal["administration", "waste"]


class WitnessedDose(Frozen):
    """The dose a witness signed for: whose, which order, which slot (None: PRN) and how much
    (for a waste: the amount discarded), in the order's unit."""

    resident_id: Id
    order_id: Id
    scheduled_for: UtcDatetime | None
    amount: Decimal = Field(gt=0)
    unit: Annotated[str, Field(min_length=1, max_length=40)]


class WitnessAttested(Body):
    """A witness's sign-in (password + authenticator) on ``device_id`` for one Schedule II
    dose or waste (docs/architecture.md#the-witness-entry).

    Its own entry, recorded when the witness signs in, BEFORE the record it witnesses. The link
    goes from this entry to the record: ``record_entry_id`` is the id the record
    (``administration.recorded`` for ``purpose`` "administration", ``administration.wasted``
    for "waste") is then stored under, so the dose entry keeps the fields older tablets know
    (it still embeds :class:`WitnessAttestation` for them) and any tablet or the server can pair
    the two after sync. ``of_entry_id``: for a waste, the administration it was part of.

    ``user_sig`` is the witness's own Ed25519 signature (their per-user key, unwrapped by the
    sign-in) over :func:`mar_desktop.clinical.witness.signed_content` of this body;
    ``user_public`` the key it verifies with (it must be the account's). Both are absent only
    for an account that has no user key yet (temporary or pre-statement password): then the
    device signature alone carries it, as it did for the embedded attestation."""

    purpose: WitnessPurpose
    record_entry_id: Id
    of_entry_id: Id | None = None
    device_id: Id
    giver_user_id: Id
    dose: WitnessedDose
    witness: WitnessAttestation
    user_public: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    user_sig: Annotated[str, Field(pattern=r"^[0-9a-f]{128}$")] | None = None


class DoseWasted(Body):
    """Part of a Schedule II dose discarded (``administration_entry_id``: the dose), with its
    amount in the order's unit and why, witnessed by the ``witness.attested`` entry
    ``witness_entry_id`` (whose ``record_entry_id`` is this entry's id). ``witness`` repeats
    the attestation so the record reads on its own."""

    administration_entry_id: Id
    resident_id: Id
    order_id: Id
    amount: Decimal = Field(gt=0)
    unit: Annotated[str, Field(min_length=1, max_length=40)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    witness_entry_id: Id
    witness: WitnessAttestation
    wasted_at: UtcDatetime
    signature_meaning: str = "Wasted as documented, witnessed"


Room = Annotated[str, Field(min_length=1, max_length=20)]


class ShiftAssigned(Body):
    """A CNA's or nurse's assignment for one shift (docs/architecture.md#shift-assignment):
    the rooms and/or residents of one unit they work from ``starts_at`` to ``ends_at`` (the
    facility's shift window). A later-recorded assignment of the same person for a window
    holding the same moment replaces it; it ends with the shift. It narrows what the person's
    pass list and overview show; it never changes the account's units (no credential path)."""

    assignment_id: Id
    user_id: Id  # the person assigned
    unit_id: Id
    rooms: tuple[Room, ...] = Field((), max_length=500)
    resident_ids: tuple[Id, ...] = Field((), max_length=500)
    shift_name: Annotated[str, Field(min_length=1, max_length=40)]
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    note: Text = ""

    @model_validator(mode="after")
    def _a_real_shift(self) -> ShiftAssigned:
        if not self.rooms and not self.resident_ids:
            raise ValueError("an assignment names at least one room or resident")
        if not self.starts_at < self.ends_at <= self.starts_at + timedelta(hours=24):
            raise ValueError("an assignment lasts one shift (at most 24 hours)")
        return self


class Override(Frozen):
    """One warning the nurse accepted to record a dose (mar_desktop/clinical/overrides.py):
    its code, the reason, and who accepted it (name and role as at that moment)."""

    code: OverrideCode
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    user_id: Id
    full_name: Name
    role: Annotated[str, Field(min_length=1, max_length=40)]


class AdministrationOverrides(Body):
    """The warnings accepted for one dose (allergy, scan bypass, outside window, PRN
    indication). Recorded in the same transaction as the ``administration.recorded`` entry it
    belongs to (``administration_entry_id``), immediately BEFORE it in the device's chain.
    A kind of its own so the dose entry stays readable by older tablets (they still count the
    dose and keep this entry unapplied as "recorded by a newer version")."""

    administration_entry_id: Id
    resident_id: Id
    order_id: Id
    overrides: Annotated[tuple[Override, ...], Field(min_length=1, max_length=10)]
    signature_meaning: str = "Accepted the warnings listed for this dose"


class PartialDoseRecorded(Body):
    """A dose only partly taken (e.g. half spat out). The ``administration.recorded`` entry it
    names (``administration_entry_id``, written in the same transaction, just before this one)
    is a GIVEN dose whose ``dose_given`` is the amount actually ``taken``, so an older tablet,
    which does not know this kind, still counts what the resident received. ``intended`` is
    the dose that was prepared; both in ``unit`` (the order's)."""

    administration_entry_id: Id
    resident_id: Id
    order_id: Id
    intended: Decimal = Field(gt=0)
    taken: Decimal = Field(gt=0)
    unit: Annotated[str, Field(min_length=1, max_length=20)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]

    @model_validator(mode="after")
    def _less_than_intended(self) -> PartialDoseRecorded:
        if self.taken >= self.intended:
            raise ValueError("a partial dose is less than the dose prepared")
        return self


class OrderDecisionSigned(Body):
    """The verifier's own signature of an ``order.verified`` or ``order.returned`` entry
    (``decision_entry_id``), recorded in the same transaction just AFTER it. The decision entry
    keeps the fields older tablets know (they still apply it and keep this entry unapplied).

    ``user_sig`` is the verifier's Ed25519 signature (their per-user key, unwrapped by the
    sign-in) over :func:`mar_desktop.clinical.decision_signature.signed_content` of this body,
    which names the decision entry, the entry it decided, the resident, the order, the decision
    and the verifier; ``user_public`` is the key it verifies with. Its entry id is
    :func:`mar_desktop.clinical.decision_signature.signature_entry_id` of the decision's. Not
    written when the verifier's account has no user key yet (the device signature alone
    carries the decision, as before)."""

    decision_entry_id: Id
    target_entry_id: Id
    resident_id: Id
    order_id: Id
    decision: Literal["verified", "returned"]
    verifier_user_id: Id
    user_public: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    user_sig: Annotated[str, Field(pattern=r"^[0-9a-f]{128}$")]


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
    ORDER_VERIFIED: OrderVerified,
    ORDER_RETURNED: OrderReturned,
    ORDERS_VERIFIED_AT_UPGRADE: OrdersVerifiedAtUpgrade,
    VERIFICATION_SETTING_CHANGED: VerificationSettingChanged,
    USER_CREATED: UserCreated,
    USER_CHANGED: UserChanged,
    DEVICE_ENROLLED: DeviceEnrolled,
    DEVICE_REVOKED: DeviceRevoked,
    ADMINISTRATION_RECORDED: AdministrationRecorded,
    NOTE_AMENDED: NoteAmended,
    ENTRY_VOIDED: EntryVoided,
    PRN_FOLLOWUP_RECORDED: PrnFollowupRecorded,
    ALERT_RAISED: AlertRaised,
    ALERT_ACKNOWLEDGED: AlertAcknowledged,
    URGENT_DOSE_RECORDED: UrgentDoseRecorded,
    WITNESS_ATTESTED: WitnessAttested,
    DOSE_WASTED: DoseWasted,
    SHIFT_ASSIGNED: ShiftAssigned,
    ADMINISTRATION_OVERRIDES: AdministrationOverrides,
    PARTIAL_DOSE_RECORDED: PartialDoseRecorded,
    ORDER_DECISION_SIGNED: OrderDecisionSigned,
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
    "order_body_version",
    "parse_body",
]
