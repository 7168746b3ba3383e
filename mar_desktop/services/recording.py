"""Recording at the bedside: administrations, note amendments, voids, PRN follow-ups, alerts.

Every method: worker thread; permission and unit scope first (refusal audited); then the
clinical rules (:func:`mar_desktop.clinical.rules.check_administration` and friends), which
raise :class:`~mar_desktop.errors.RuleViolation` with a stable ``code``; then ONE durable append
of the ledger entry and its audit entry. On any refusal nothing clinical is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from mar_desktop import audit, kinds
from mar_desktop.clinical import barcodes, overrides, rules
from mar_desktop.clinical.scope import check_scope
from mar_desktop.clinical.verification import check_givable, check_urgent_second_person
from mar_desktop.clinical.witness import WITNESS_FRESH_FOR
from mar_desktop.envelope import Entry, EntryDraft, new_id
from mar_desktop.errors import NotFound, RuleViolation, ValidationError
from mar_desktop.kinds import ScanRecord, Vitals, WitnessAttestation, WitnessedDose
from mar_desktop.model import Order, Outcome, Resident
from mar_desktop.permissions import Permission, Principal
from mar_desktop.ports import ReadModel
from mar_desktop.services import dose_recording
from mar_desktop.services.base import nonblank
from mar_desktop.services.witnessed import WitnessedRecords
from mar_desktop.views import AdministrationRecord

_DAY = timedelta(hours=24)


@dataclass(frozen=True)
class AdministrationRequest:
    """What the nurse entered for one dose. ``administered_at`` None means now.

    Identity: a wristband scan, or an explicit ``identity_confirmed``. Medication: a product
    scan, or an explicit ``medication_confirmed``. Both are required for a GIVEN dose; a
    by-hand confirmation needs its reason from the facility's list
    (``wristband_bypass_reason`` / ``medication_bypass_reason``: a
    :class:`~mar_desktop.clinical.overrides.BypassReason` code).
    """

    resident_id: str
    order_id: str
    outcome: Outcome
    scheduled_for: datetime | None = None
    administered_at: datetime | None = None
    wristband_scan: str | None = None
    identity_confirmed: bool = False
    medication_scan: str | None = None
    medication_confirmed: bool = False
    reason_code: str | None = None
    reason_text: str = ""
    dose_given: str | Decimal | None = None
    """As typed (None: the order's dose); checked against the order (:mod:`~mar_desktop.
    clinical.dose`), so the entry always holds the order's dose in the order's unit."""
    dose_unit: str | None = None
    """The unit of ``dose_given`` (None: the order's unit)."""
    decimal_comma: bool = False
    """The screen's locale writes decimals with a comma ("2,5")."""
    route: str | None = None
    """None: the order's route; anything else must be that route (``route_mismatch``)."""
    site: str = ""
    vitals: Vitals = field(default_factory=Vitals)
    prn_reason: str = ""
    pain_score: int | None = None
    outside_window_reason: str = ""
    witness: WitnessAttestation | None = None
    allergy_acknowledged: bool = False
    note: str = ""
    urgent_reason: str = ""
    """An urgent dose on an order awaiting verification: why it cannot wait. Needs
    ``urgent_second_person`` too (docs/architecture.md#order-verification)."""
    urgent_second_person: WitnessAttestation | None = None
    """The second licensed person who signed in for the urgent dose (like a witness)."""
    witness_entry_id: str | None = None
    """The ``witness.attested`` entry of the witness's sign-in for this dose (Schedule II,
    given); ``witness`` is then taken from it, whatever the request says."""
    wristband_bypass_reason: str = ""
    """Why the wristband was not scanned (a bypass reason code), with ``identity_confirmed``."""
    medication_bypass_reason: str = ""
    """Why the medication was not scanned (a bypass reason code), with
    ``medication_confirmed``."""
    prn_indication_reason: str = ""
    """Why a PRN dose is given at a score outside the order's indication range (or with no
    score); needed only then."""
    partial_taken: str | Decimal | None = None
    """A partial dose: the amount actually taken (order's unit; ``dose_given`` is the dose
    prepared). Needs ``partial_reason``; recorded as GIVEN with this amount plus an
    ``administration.partial`` entry."""
    partial_reason: str = ""

    @property
    def urgent(self) -> bool:
        return bool(self.urgent_reason.strip()) or self.urgent_second_person is not None


class RecordingService(WitnessedRecords):
    """See the module docstring; Schedule II waste and the witness check are
    :class:`~mar_desktop.services.witnessed.WitnessedRecords`."""

    def record_administration(self, principal: Principal, req: AdministrationRequest) -> Entry:
        """Records one administration event; returns the stored entry (its id is the record's).

        Raises PermissionDenied, NotFound, ValidationError or RuleViolation (codes from
        :mod:`mar_desktop.clinical.rules` and :mod:`~mar_desktop.clinical.barcodes`, plus
        ``identity_unconfirmed``, ``medication_unconfirmed``, ``allergy_unacknowledged``,
        ``site_required``, ``witness_stale``, ``outside_scope``, and for a GIVEN dose
        ``dose_invalid``, ``dose_unit``, ``dose_mismatch``, ``route_mismatch``,
        ``order_unverified``, ``order_returned``, ``urgent_not_needed``, ``urgent_reason``,
        ``urgent_unlicensed``, ``urgent_second_person``, ``bypass_reason_required``,
        ``bypass_reason_unknown``, ``prn_indication``), and for a given Schedule II dose (or
        any request naming ``witness_entry_id``) the ``witness_*`` codes of
        :func:`~mar_desktop.clinical.witness.check_witness_entry` plus ``witness_used``: the
        dose is then stored under the id the witness entry names.

        An urgent dose (``req.urgent``) on an order awaiting verification is checked against
        the unverified order's values and stored with an ``administration.urgent_unverified``
        entry before it (the flag, the reason and the second person's sign-in).

        Every warning accepted for the dose (allergy acknowledged, a scan bypassed, outside the
        window, a PRN score outside the order's indication) is stored as an
        ``administration.overrides`` entry immediately before the dose entry, in the same
        transaction (:mod:`mar_desktop.clinical.overrides`); a dose with
        every check passed has none.
        """
        entries = self._decide_for_resident(
            principal,
            Permission.RECORD_ADMINISTRATION,
            req.resident_id,
            lambda read, resident: self._administration_drafts(principal, req, read, resident),
        )
        return next(e for e in entries if e.kind == kinds.ADMINISTRATION_RECORDED)

    def _administration_drafts(
        self, principal: Principal, req: AdministrationRequest, read: ReadModel, resident: Resident
    ) -> list[EntryDraft]:
        """Every check for one administration, on the write transaction's reads; the drafts."""
        facility = read.facility()
        if facility is None:
            raise NotFound("This device has no facility configured yet.")
        state = read.order(req.order_id)
        if state is None:
            raise NotFound("No such order.")
        now = self._clock.now()
        administered_at = req.administered_at or now
        if administered_at > now + timedelta(minutes=1):
            raise ValidationError("The administration time cannot be in the future.")
        order = state.order
        if req.outcome == Outcome.GIVEN:
            check_givable(state, urgent=req.urgent)
        check_scope(principal.user, order, facility.settings)
        bypass_reasons = facility.settings.scan_bypass_reasons
        scan = self._check_scans(req, resident, order, now, facility.zone, bypass_reasons)
        witness_user = None
        witness = req.witness
        if req.witness is not None:
            if now - req.witness.authenticated_at > WITNESS_FRESH_FOR:
                raise RuleViolation(
                    "The witness sign-in has expired; the witness must sign in again.",
                    code="witness_stale",
                )
            witness_user = read.user(req.witness.user_id)
        given = req.outcome == Outcome.GIVEN
        proof = None
        if (given and order.needs_witness) or req.witness_entry_id is not None:
            dose_now = _dose_facts(req, order).intended if given else order.dose
            expected = WitnessedDose(
                resident_id=resident.resident_id,
                order_id=order.order_id,
                scheduled_for=req.scheduled_for,
                amount=dose_now,
                unit=order.dose_unit,
            )
            proof = self._proven_witness(
                principal, req.witness_entry_id, "administration", expected, None, read, now
            )
            witness = proof.body.witness
            witness_user = read.user(witness.user_id)
        anchor = req.scheduled_for or administered_at
        records = read.administrations(
            since=min(anchor, administered_at) - _DAY,
            until=max(anchor, administered_at) + _DAY,
            resident_ids=[resident.resident_id],
            order_ids=[order.order_id],
        )
        check = rules.check_administration(
            order_state=state,
            resident=resident,
            facility=facility,
            outcome=req.outcome,
            administered_at=administered_at,
            scheduled_for=req.scheduled_for,
            actor_user_id=principal.user.user_id,
            records=records,
            reason_code=req.reason_code,
            outside_window_reason=req.outside_window_reason,
            prn_reason=req.prn_reason,
            witness=witness_user,
            vitals=req.vitals,
        )
        facts = _dose_facts(req, order) if req.outcome == Outcome.GIVEN else None
        dose = None if facts is None else facts.given
        if req.outcome == Outcome.GIVEN:
            if check.allergy_matches and not req.allergy_acknowledged:
                raise RuleViolation(
                    "Allergy warning: " + "; ".join(m.message for m in check.allergy_matches),
                    code="allergy_unacknowledged",
                )
            if order.site_required and not req.site.strip():
                raise RuleViolation("Record the site for this route.", code="site_required")
            assert dose is not None
            dose_recording.check_daily_amount(read, order, dose, administered_at)
        elif req.partial_taken is not None or req.partial_reason.strip():
            raise dose_recording.refuse_partial_not_given()
        given = req.outcome == Outcome.GIVEN
        body = kinds.AdministrationRecorded(
            resident_id=resident.resident_id,
            order_id=order.order_id,
            scheduled_for=req.scheduled_for,
            administered_at=administered_at,
            outcome=req.outcome,
            reason_code=req.reason_code,
            reason_text=req.reason_text.strip()
            if facts is None
            else facts.reason_text(order.dose_unit, req.reason_text.strip()),
            dose_given=dose,
            dose_unit=order.dose_unit if given else "",
            route=order.route if given else "",
            site=req.site.strip(),
            vitals=req.vitals,
            prn_reason=req.prn_reason.strip(),
            pain_score=req.pain_score,
            outside_window_reason=req.outside_window_reason.strip() if check.outside_window else "",
            witness=witness,
            scan=scan,
            note=req.note.strip(),
        )
        dose_id = new_id() if proof is None else proof.body.record_entry_id
        drafts = self._urgent_drafts(principal, req, read, dose_id, now) if given else []
        indication = (
            overrides.check_prn_indication(
                order.prn_indication, req.pain_score, req.prn_indication_reason
            )
            if given and order.is_prn
            else ""
        )
        accepted = overrides.collect(
            allergy_warnings=[m.message for m in check.allergy_matches] if given else (),
            wristband_bypass=_bypass(req, "wristband", bypass_reasons),
            medication_bypass=_bypass(req, "medication", bypass_reasons),
            outside_window_reason=body.outside_window_reason,
            prn_indication_reason=indication,
        )
        if accepted:
            drafts.append(_overrides_draft(principal, body, dose_id, accepted))
        drafts += [
            kinds.draft(kinds.ADMINISTRATION_RECORDED, principal.actor, body, dose_id),
            *dose_recording.partial_draft(principal, order, dose_id, facts),
            audit.audit_for(
                principal,
                audit.RECORD_CREATED,
                entity_type="resident",
                entity_id=resident.resident_id,
                detail=f"administration {req.outcome.value}, order {order.order_id}",
            ),
        ]
        return drafts

    @staticmethod
    def _urgent_drafts(
        principal: Principal,
        req: AdministrationRequest,
        read: ReadModel,
        dose_id: str,
        now: datetime,
    ) -> list[EntryDraft]:
        """The flag of an urgent dose (``check_givable`` has allowed ``req.urgent``): a reason,
        a licensed giver and a second licensed person signed in within
        :data:`WITNESS_FRESH_FOR`."""
        if not req.urgent:
            return []
        reason = req.urgent_reason.strip()
        if not reason:
            raise RuleViolation(
                "Say why this dose cannot wait for the order's verification.",
                code="urgent_reason",
            )
        if not principal.user.licensed:
            raise RuleViolation(
                "Only a licensed nurse may give an urgent dose on an unverified order.",
                code="urgent_unlicensed",
            )
        second = req.urgent_second_person
        if second is not None and now - second.authenticated_at > WITNESS_FRESH_FOR:
            raise RuleViolation(
                "The second person's sign-in has expired; they must sign in again.",
                code="witness_stale",
            )
        check_urgent_second_person(
            principal.user, None if second is None else read.user(second.user_id)
        )
        assert second is not None
        body = kinds.UrgentDoseRecorded(
            administration_entry_id=dose_id,
            resident_id=req.resident_id,
            order_id=req.order_id,
            reason=reason,
            second_person=second.model_copy(
                update={"meaning": "Confirmed an urgent dose on an order awaiting verification"}
            ),
        )
        return [kinds.draft(kinds.URGENT_DOSE_RECORDED, principal.actor, body)]

    @staticmethod
    def _check_scans(
        req: AdministrationRequest,
        resident: Resident,
        order: Order,
        now: datetime,
        zone: ZoneInfo,
        bypass_reasons: Sequence[overrides.BypassReason],
    ) -> ScanRecord:
        """Checks the bedside scans (wrong resident, wrong or expired medication) and that a
        GIVEN dose has identity and medication confirmed one way or the other, a by-hand
        confirmation with a reason from ``bypass_reasons`` (the facility's list)."""
        scanned = None
        if req.wristband_scan:
            barcodes.check_wristband(req.wristband_scan, resident)
        if req.medication_scan:
            scanned = barcodes.parse_scan(req.medication_scan)
            barcodes.check_medication_scan(scanned, order, now=now, zone=zone)
        if req.outcome == Outcome.GIVEN:
            if not req.wristband_scan and not req.identity_confirmed:
                raise RuleViolation(
                    "Confirm the resident's identity: scan the wristband or confirm by hand.",
                    code="identity_unconfirmed",
                )
            if not req.medication_scan and not req.medication_confirmed:
                raise RuleViolation(
                    "Confirm the medication: scan the package or confirm by hand.",
                    code="medication_unconfirmed",
                )
            _bypass(req, "wristband", bypass_reasons)  # a by-hand confirmation names its reason
            _bypass(req, "medication", bypass_reasons)
        return ScanRecord(
            wristband_scanned=bool(req.wristband_scan),
            identity_confirmed=req.identity_confirmed,
            medication_scanned=scanned is not None,
            gtin=scanned.gtin if scanned else None,
            ndc=scanned.ndc if scanned else None,
            lot=scanned.lot if scanned else None,
            expiry=scanned.expiry.isoformat() if scanned and scanned.expiry else None,
        )

    # ---- after the fact -----------------------------------------------------------------------
    def amend_note(self, principal: Principal, target_entry_id: str, text: str) -> Entry:
        """A new note for an administration: only its author, within 2 hours (rules)."""
        record = self._record_in_scope(principal, target_entry_id, Permission.AMEND_NOTE)
        rules.check_note_amendment(record, principal.user.user_id, self._clock.now())
        body = kinds.NoteAmended(target_entry_id=target_entry_id, text=nonblank(text, "Note"))
        return self._commit(
            principal,
            kinds.NOTE_AMENDED,
            body,
            record,
            audit.RECORD_AMENDED,
            before={"note": record.current_note},
            after={"note": body.text},
        )

    def void_entry(self, principal: Principal, target_entry_id: str, reason: str) -> Entry:
        """Marks an administration entered-in-error; the original stays, struck through."""
        record = self._record_in_scope(principal, target_entry_id, Permission.VOID_ENTRY)
        rules.check_void(principal.role, reason, already_voided=record.voided)
        body = kinds.EntryVoided(target_entry_id=target_entry_id, reason=reason.strip())
        return self._commit(
            principal,
            kinds.ENTRY_VOIDED,
            body,
            record,
            audit.RECORD_VOIDED,
            before={"voided": False},
            after={"voided": True, "reason": body.reason},
        )

    def record_prn_followup(
        self,
        principal: Principal,
        target_entry_id: str,
        effective: str,
        *,
        pain_score: int | None = None,
        note: str = "",
    ) -> Entry:
        record = self._record_in_scope(principal, target_entry_id, Permission.RECORD_PRN_FOLLOWUP)
        if record.scheduled_for is not None or record.outcome != Outcome.GIVEN:
            raise ValidationError("Follow-ups are for PRN doses that were given.")
        if record.voided:
            raise ValidationError("This dose was voided.")
        body = kinds.PrnFollowupRecorded.model_validate(
            {
                "target_entry_id": target_entry_id,
                "effective": effective,
                "pain_score": pain_score,
                "note": note.strip(),
                "assessed_at": self._clock.now(),
            }
        )
        return self._commit(
            principal, kinds.PRN_FOLLOWUP_RECORDED, body, record, audit.RECORD_CREATED
        )

    def acknowledge_alert(self, principal: Principal, alert_id: str, comment: str) -> Entry:
        self._require(
            principal, Permission.ACKNOWLEDGE_ALERT, entity_type="alert", entity_id=alert_id
        )
        alert = next(
            (a for a in self._read.alerts(open_only=False) if a.alert_id == alert_id), None
        )
        if alert is None:
            raise NotFound("No such alert.")
        if alert.acknowledged_by is not None:
            raise ValidationError("This alert is already acknowledged.")
        body = kinds.AlertAcknowledged(alert_id=alert_id, comment=nonblank(comment, "Comment"))
        return self._append(
            [
                kinds.draft(kinds.ALERT_ACKNOWLEDGED, principal.actor, body),
                audit.audit_for(
                    principal,
                    audit.ALERT_ACKNOWLEDGED,
                    entity_type="alert",
                    entity_id=alert_id,
                    after={"comment": body.comment},
                ),
            ]
        )[0]

    # ---- helpers ------------------------------------------------------------------------------
    def _record_in_scope(
        self, principal: Principal, entry_id: str, permission: Permission
    ) -> AdministrationRecord:
        record = self._read.administration(entry_id)
        if record is None:
            raise NotFound("No such administration record.")
        self._resident_in_scope(principal, record.resident_id, permission)
        return record

    def _commit(
        self,
        principal: Principal,
        kind: str,
        body: kinds.Body,
        record: AdministrationRecord,
        action: str,
        *,
        before: dict[str, object] | None = None,
        after: dict[str, object] | None = None,
    ) -> Entry:
        return self._append(
            [
                kinds.draft(kind, principal.actor, body),
                audit.audit_for(
                    principal,
                    action,
                    entity_type="resident",
                    entity_id=record.resident_id,
                    before=before,
                    after=after,
                    detail=f"{kind} of {record.entry_id}",
                ),
            ]
        )[0]


def _bypass(
    req: AdministrationRequest,
    target: overrides.BypassTarget,
    reasons: Sequence[overrides.BypassReason],
) -> overrides.BypassReason | None:
    """The reason a GIVEN dose's ``target`` scan was bypassed; None when it was scanned (or the
    dose was not given). Raises RuleViolation ``bypass_reason_required`` /
    ``bypass_reason_unknown`` for a by-hand confirmation without a listed reason."""
    if req.outcome != Outcome.GIVEN:
        return None
    if target == "wristband":
        scanned, code = bool(req.wristband_scan), req.wristband_bypass_reason
    else:
        scanned, code = bool(req.medication_scan), req.medication_bypass_reason
    if scanned:
        return None
    return overrides.check_bypass_reason(target, code, reasons)


def _overrides_draft(
    principal: Principal,
    dose: kinds.AdministrationRecorded,
    dose_id: str,
    accepted: list[overrides.Accepted],
) -> EntryDraft:
    """The ``administration.overrides`` entry of dose ``dose_id``: each accepted warning with
    its reason and the person recording the dose."""
    user = principal.user
    body = kinds.AdministrationOverrides(
        administration_entry_id=dose_id,
        resident_id=dose.resident_id,
        order_id=dose.order_id,
        overrides=tuple(
            kinds.Override(
                code=a.code,
                reason=a.reason[:2000],
                user_id=user.user_id,
                full_name=user.full_name,
                role=user.role.value,
            )
            for a in accepted
        ),
    )
    return kinds.draft(kinds.ADMINISTRATION_OVERRIDES, principal.actor, body)


def _dose_facts(req: AdministrationRequest, order: Order) -> dose_recording.DoseFacts:
    """The dose of a GIVEN administration as the order allows it
    (:func:`mar_desktop.services.dose_recording.dose_facts`)."""
    return dose_recording.dose_facts(
        order,
        dose_given=req.dose_given,
        dose_unit=req.dose_unit,
        route=req.route,
        decimal_comma=req.decimal_comma,
        glucose=req.vitals.glucose,
        partial_taken=req.partial_taken,
        partial_reason=req.partial_reason,
    )
