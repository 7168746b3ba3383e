"""Facility reference data: settings, units, residents and orders (admin work).

Every method: worker thread; checks the permission first (refusal audited, nothing else
written); validates; appends the ledger entry and its audit entry in one durable transaction;
returns the stored model. Raises ValidationError, NotFound, Conflict or PermissionDenied.
"""

from __future__ import annotations

from datetime import datetime

from mar_desktop import audit, kinds
from mar_desktop.clinical.allergies import allergy_matches
from mar_desktop.clinical.verification import change_effect
from mar_desktop.envelope import SYSTEM_ACTOR, Entry, EntryDraft, new_id
from mar_desktop.errors import Conflict, NotFound, RuleViolation, ValidationError
from mar_desktop.model import (
    ALL_UNITS,
    Facility,
    FacilitySettings,
    Order,
    Resident,
    Role,
    Unit,
    User,
)
from mar_desktop.permissions import Permission, Principal, allowed
from mar_desktop.services.base import Service, nonblank
from mar_desktop.views import OrderState, OrderStatus, VerificationStatus

SECURITY_SETTINGS = frozenset(
    {
        "inactivity_lock_seconds",
        "reauth_hours",
        "password_min_length",
        "emergency_access_minutes",
        "clock_skew_alert_seconds",
        "unsynced_warning_hours",
    }
)
"""Settings only MANAGE_SETTINGS changes; the rest are clinical (MANAGE_CLINICAL_SETTINGS)."""


class ReferenceService(Service):
    # ---- facility ---------------------------------------------------------------------------
    def configure_facility(self, facility: Facility) -> Entry:
        """Bootstrap only: records the facility once, as the system actor."""
        if self._read.facility() is not None:
            raise Conflict("This device already has a facility.")
        draft = EntryDraft(
            kinds.FACILITY_CONFIGURED,
            SYSTEM_ACTOR,
            kinds.body_json(kinds.FacilityConfigured(facility=facility)),
        )
        return self._append([draft])[0]

    def bootstrap_admin(self, user: User) -> Entry:
        """Bootstrap only: the first facility admin, as the system actor, before any user exists.
        Credentials are set separately (people services)."""
        if user.role != Role.FACILITY_ADMIN:
            raise ValidationError("The first account must be a facility admin.")
        if self._read.users(include_inactive=True):
            raise Conflict("This facility already has accounts; an admin must add users.")
        self._facility()
        draft = EntryDraft(
            kinds.USER_CREATED, SYSTEM_ACTOR, kinds.body_json(kinds.UserCreated(user=user))
        )
        audit_draft = audit.audit_draft(
            audit.USER_CHANGED,
            actor=SYSTEM_ACTOR,
            user_name="system",
            entity_type="user",
            entity_id=user.user_id,
            after=user,
        )
        return self._append([draft, audit_draft])[0]

    def change_settings(self, principal: Principal, settings: FacilitySettings) -> Entry:
        """MANAGE_SETTINGS changes any setting; MANAGE_CLINICAL_SETTINGS (director of nursing)
        only the clinical ones (:data:`SECURITY_SETTINGS` unchanged)."""
        before = self._facility().settings
        security_changed = any(
            getattr(before, name) != getattr(settings, name) for name in SECURITY_SETTINGS
        )
        clinical_only = allowed(principal.role, Permission.MANAGE_CLINICAL_SETTINGS)
        if security_changed or not clinical_only:
            self._require(principal, Permission.MANAGE_SETTINGS, entity_type="facility")
        else:
            self._require(principal, Permission.MANAGE_CLINICAL_SETTINGS, entity_type="facility")
        body = kinds.SettingsChanged(before=before, after=settings)
        entries = self._append(
            [
                kinds.draft(kinds.SETTINGS_CHANGED, principal.actor, body),
                audit.audit_for(
                    principal,
                    audit.SETTINGS_CHANGED,
                    entity_type="facility",
                    entity_id=self._facility().facility_id,
                    before=before,
                    after=settings,
                ),
            ]
        )
        return entries[0]

    # ---- units ------------------------------------------------------------------------------
    def create_unit(self, principal: Principal, name: str, unit_id: str | None = None) -> Unit:
        self._require(principal, Permission.MANAGE_RESIDENTS, entity_type="unit")
        unit = Unit(unit_id=unit_id or new_id(), name=nonblank(name, "Unit name"))
        if unit.unit_id == ALL_UNITS:
            raise ValidationError("This unit id is reserved for 'all units'.")
        if any(u.unit_id == unit.unit_id for u in self._read.units()):
            raise Conflict("A unit with this id exists.")
        self._record(
            principal,
            kinds.UNIT_CREATED,
            kinds.UnitCreated(unit=unit),
            entity_type="unit",
            entity_id=unit.unit_id,
            action=audit.RECORD_CREATED,
            after=unit.model_dump(mode="json"),
        )
        return unit

    # ---- residents --------------------------------------------------------------------------
    def admit_resident(self, principal: Principal, resident: Resident) -> Resident:
        self._require(
            principal,
            Permission.MANAGE_RESIDENTS,
            unit_id=resident.unit_id,
            entity_type="resident",
            entity_id=resident.resident_id,
        )
        self._known_unit(resident.unit_id)
        read = self._read
        if read.resident(resident.resident_id) is not None:
            raise Conflict("This resident is already admitted.")
        if read.resident_by_wristband(resident.wristband_id) is not None:
            raise Conflict("Another resident already has this wristband id.")
        self._record(
            principal,
            kinds.RESIDENT_ADMITTED,
            kinds.ResidentAdmitted(resident=resident),
            entity_type="resident",
            entity_id=resident.resident_id,
            action=audit.RECORD_CREATED,
        )
        return resident

    def update_resident(self, principal: Principal, resident: Resident) -> Resident:
        current = self._resident_in_scope(
            principal, resident.resident_id, Permission.MANAGE_RESIDENTS
        )
        if resident.unit_id != current.unit_id:
            raise ValidationError("Use a transfer to move a resident to another unit.")
        self._record(
            principal,
            kinds.RESIDENT_UPDATED,
            kinds.ResidentUpdated(resident=resident),
            entity_type="resident",
            entity_id=resident.resident_id,
            action=audit.RECORD_AMENDED,
        )
        return resident

    def transfer_resident(
        self, principal: Principal, resident_id: str, unit_id: str, room: str
    ) -> None:
        self._resident_in_scope(principal, resident_id, Permission.MANAGE_RESIDENTS)
        self._known_unit(unit_id)
        body = kinds.ResidentTransferred(
            resident_id=resident_id, unit_id=unit_id, room=nonblank(room, "Room")
        )
        self._record(
            principal,
            kinds.RESIDENT_TRANSFERRED,
            body,
            entity_type="resident",
            entity_id=resident_id,
            action=audit.RECORD_AMENDED,
        )

    def discharge_resident(self, principal: Principal, resident_id: str, reason: str) -> None:
        resident = self._resident_in_scope(principal, resident_id, Permission.MANAGE_RESIDENTS)
        if not resident.active:
            raise Conflict("This resident is already discharged.")
        body = kinds.ResidentDischarged(resident_id=resident_id, reason=reason.strip())
        self._record(
            principal,
            kinds.RESIDENT_DISCHARGED,
            body,
            entity_type="resident",
            entity_id=resident_id,
            action=audit.RECORD_AMENDED,
        )

    # ---- orders -----------------------------------------------------------------------------
    def create_order(
        self,
        principal: Principal,
        order: Order,
        *,
        allergy_acknowledged: bool = False,
        provenance: kinds.OrderProvenance | None = None,
    ) -> Order:
        """Records a new order, awaiting verification by a second licensed person
        (docs/architecture.md#order-verification) unless it is hand-entered and the facility
        has turned that off. ``provenance``: an import's source (imports always need
        verification); None for hand entry. An order whose drug matches one of the resident's
        allergies (:func:`~mar_desktop.clinical.allergies.allergy_matches`) is refused
        (``allergy_unacknowledged``, the matches named) unless ``allergy_acknowledged``; the
        acknowledgement is then written into the order's audit entry."""
        resident = self._resident_in_scope(principal, order.resident_id, Permission.MANAGE_ORDERS)
        if not resident.active:
            raise ValidationError("Orders cannot be added for a discharged resident.")
        if self._read.order(order.order_id) is not None:
            raise Conflict("An order with this id exists.")
        self._record(
            principal,
            kinds.ORDER_CREATED,
            kinds.OrderCreated(order=order, provenance=self._provenance(provenance)),
            entity_type="order",
            entity_id=order.order_id,
            action=audit.RECORD_CREATED,
            detail=_allergy_detail(resident, order, allergy_acknowledged, kinds.ORDER_CREATED),
        )
        return order

    def change_order(
        self,
        principal: Principal,
        replaces_order_id: str,
        order: Order,
        reason: str,
        effective_at: datetime | None = None,
        *,
        allergy_acknowledged: bool = False,
        provenance: kinds.OrderProvenance | None = None,
    ) -> Order:
        """Replaces ``replaces_order_id`` with ``order`` from ``effective_at``. When the change
        needs verification, a change that only reduces a verified order
        (:func:`~mar_desktop.clinical.verification.change_effect`) acts at once (the old
        order is discontinued then; a v1 ``order.discontinued`` says so to older tablets) and
        is verified afterwards; any other change waits: the old order stays givable until the
        change is verified. A second change while one awaits verification is refused
        (Conflict). An allergy match is refused unless acknowledged, as in
        :meth:`create_order`."""
        old = self._live_order(principal, replaces_order_id)
        if old.pending_change is not None:
            raise Conflict(
                "A change of this order awaits verification; verify or return it first."
            )
        if order.resident_id != old.order.resident_id:
            raise ValidationError("A changed order must be for the same resident.")
        resident = self._read.resident(order.resident_id)
        detail = (
            _allergy_detail(resident, order, allergy_acknowledged, kinds.ORDER_CHANGED)
            if resident is not None
            else ""
        )
        if order.order_id == replaces_order_id or self._read.order(order.order_id) is not None:
            raise ValidationError("A changed order needs a new order id.")
        when = effective_at or self._clock.now()
        source = self._provenance(provenance)
        acts_at_once = (
            source.verification == "not_required"
            or (
                old.verification == VerificationStatus.VERIFIED
                and change_effect(old.order, order) == "at_once"
            )
        )
        body = kinds.OrderChanged(
            replaces_order_id=replaces_order_id,
            order=order,
            reason=nonblank(reason, "Reason"),
            effective_at=when,
            provenance=source,
            acts_at_once=acts_at_once,
        )
        extra = []
        if body.replaces_now:  # older tablets do not apply a v2 change: end the old one for them
            stop = kinds.OrderStatusChanged(
                order_id=replaces_order_id, reason=f"Changed: {body.reason}", effective_at=when
            )
            extra.append(kinds.draft(kinds.ORDER_DISCONTINUED, principal.actor, stop))
        self._record(
            principal,
            kinds.ORDER_CHANGED,
            body,
            entity_type="order",
            entity_id=order.order_id,
            action=audit.RECORD_AMENDED,
            before=old.order.model_dump(mode="json"),
            detail=detail,
            also=extra,
        )
        return order

    def hold_order(
        self, principal: Principal, order_id: str, reason: str, effective_at: datetime | None = None
    ) -> None:
        state = self._live_order(principal, order_id)
        if state.status == OrderStatus.HELD:
            raise Conflict("This order is already on hold.")
        self._status(principal, kinds.ORDER_HELD, order_id, reason, effective_at)

    def resume_order(
        self, principal: Principal, order_id: str, reason: str, effective_at: datetime | None = None
    ) -> None:
        state = self._live_order(principal, order_id)
        if state.status != OrderStatus.HELD:
            raise Conflict("This order is not on hold.")
        self._status(principal, kinds.ORDER_RESUMED, order_id, reason, effective_at)

    def discontinue_order(
        self, principal: Principal, order_id: str, reason: str, effective_at: datetime | None = None
    ) -> None:
        """Acts at once (verified afterwards); a change of the order still awaiting
        verification is discontinued with it, so it cannot start later."""
        state = self._live_order(principal, order_id)
        self._status(principal, kinds.ORDER_DISCONTINUED, order_id, reason, effective_at)
        if state.pending_change is not None:
            self._status(
                principal, kinds.ORDER_DISCONTINUED, state.pending_change, reason, effective_at
            )

    def _provenance(self, given: kinds.OrderProvenance | None) -> kinds.OrderProvenance:
        """An import's provenance as given (always verified); hand entry's from the setting."""
        if given is not None:
            if given.source == "import" and given.verification != "required":
                raise ValidationError("An imported order always needs verification.")
            return given
        required = self._read.hand_entry_verification()
        return kinds.OrderProvenance(verification="required" if required else "not_required")

    # ---- helpers ----------------------------------------------------------------------------
    def _known_unit(self, unit_id: str) -> None:
        if not any(u.unit_id == unit_id for u in self._read.units()):
            raise NotFound("No such unit.")

    def _live_order(self, principal: Principal, order_id: str) -> OrderState:
        state = self._read.order(order_id)
        if state is None:
            raise NotFound("No such order.")
        self._resident_in_scope(principal, state.order.resident_id, Permission.MANAGE_ORDERS)
        if state.status == OrderStatus.DISCONTINUED:
            raise Conflict("This order is discontinued.")
        return state

    def _status(
        self,
        principal: Principal,
        kind: str,
        order_id: str,
        reason: str,
        effective_at: datetime | None,
    ) -> None:
        body = kinds.OrderStatusChanged(
            order_id=order_id,
            reason=nonblank(reason, "Reason"),
            effective_at=effective_at or self._clock.now(),
        )
        self._record(
            principal,
            kind,
            body,
            entity_type="order",
            entity_id=order_id,
            action=audit.RECORD_AMENDED,
            detail=kind,
        )

    def _record(
        self,
        principal: Principal,
        kind: str,
        body: kinds.Body,
        *,
        entity_type: str,
        entity_id: str,
        action: str,
        before: dict[str, object] | None = None,
        after: dict[str, object] | None = None,
        detail: str = "",
        also: list[EntryDraft] | None = None,
    ) -> Entry:
        ledger_draft = kinds.draft(kind, principal.actor, body)
        audit_draft = audit.audit_for(
            principal,
            action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after if after is not None else kinds.body_json(body),
            detail=detail or kind,
        )
        return self._append([ledger_draft, *(also or []), audit_draft])[0]


def _allergy_detail(resident: Resident, order: Order, acknowledged: bool, kind: str) -> str:
    """The audit detail of an order entry: the kind, plus the allergy warnings acknowledged.
    Raises RuleViolation (``allergy_unacknowledged``) for a match not acknowledged."""
    matches = allergy_matches(resident, order)
    if not matches:
        return kind
    warning = "; ".join(m.message for m in matches)
    if not acknowledged:
        raise RuleViolation(
            f"Allergy warning: {warning}. Check the order with the prescriber, then acknowledge "
            "the warning to enter it.",
            code="allergy_unacknowledged",
        )
    return f"{kind}; allergy warning acknowledged: {warning}"
