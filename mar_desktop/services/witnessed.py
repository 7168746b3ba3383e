"""Records a proven witness stands behind (docs/architecture.md#the-witness-entry): the
check a Schedule II dose or waste makes on the ``witness.attested`` entry it references, and
the waste itself (``administration.wasted``).

:class:`WitnessedRecords` is the base of :class:`~mar_desktop.services.recording.
RecordingService`; its methods run on a worker thread, check permission and unit scope first
(refusal audited), then the rules, then make ONE durable append. Nothing clinical is written on
a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mar_desktop import audit, kinds
from mar_desktop.clinical.witness import MESSAGES as WITNESS_MESSAGES
from mar_desktop.clinical.witness import (
    WitnessProof,
    WitnessRequest,
    check_witness_entry,
    witnessed_dose,
)
from mar_desktop.envelope import Entry, EntryDraft
from mar_desktop.errors import NotFound, RuleViolation
from mar_desktop.kinds import WitnessedDose, WitnessPurpose
from mar_desktop.permissions import Permission, Principal
from mar_desktop.ports import ReadModel
from mar_desktop.services.base import Ports, Service, nonblank


@dataclass(frozen=True)
class WasteRequest:
    """Part of a given Schedule II dose discarded: the dose's entry, the amount as typed (in
    ``unit``; None: the order's unit), why, and the witness's sign-in for this waste."""

    administration_entry_id: str
    amount: str | Decimal
    reason: str
    witness_entry_id: str | None
    unit: str | None = None
    decimal_comma: bool = False



class WitnessedRecords(Service):
    """``account_keys`` gives a witness account's user public key (None: it has none);
    without it, the key a witness entry of this device names is taken as the account's (the
    sign-in that wrote it checked that against the account)."""

    def __init__(
        self, ports: Ports, account_keys: Callable[[str], str | None] | None = None
    ) -> None:
        super().__init__(ports)
        self._account_keys = account_keys

    def record_waste(self, principal: Principal, req: WasteRequest) -> Entry:
        """Records part of a given Schedule II dose as discarded: an ``administration.wasted``
        entry (stored under the witness entry's ``record_entry_id``) and its audit entry.

        Raises PermissionDenied, NotFound, ValidationError (no reason) or RuleViolation:
        ``waste_not_given`` (the dose was not given, or was voided), ``waste_not_controlled``
        (not a Schedule II order), ``dose_invalid``/``dose_unit`` (field "dose"), and every
        ``witness_*`` code of :func:`~mar_desktop.clinical.witness.check_witness_entry` plus
        ``witness_used``."""
        record = self._read.administration(req.administration_entry_id)
        if record is None:
            raise NotFound("No such administration record.")
        self._resident_in_scope(principal, record.resident_id, Permission.RECORD_ADMINISTRATION)
        entries = self._decide_for_resident(
            principal,
            Permission.RECORD_ADMINISTRATION,
            record.resident_id,
            lambda read, _resident: self._waste_drafts(principal, req, read),
        )
        return next(e for e in entries if e.kind == kinds.DOSE_WASTED)

    def _waste_drafts(
        self, principal: Principal, req: WasteRequest, read: ReadModel
    ) -> list[EntryDraft]:
        record = read.administration(req.administration_entry_id)
        if record is None:
            raise NotFound("No such administration record.")
        if not record.counts_as_given:
            raise RuleViolation(
                "Waste is recorded against a dose that was given (and not voided).",
                code="waste_not_given",
            )
        state = read.order(record.order_id)
        if state is None:
            raise NotFound("No such order.")
        order = state.order
        if not order.needs_witness:
            raise RuleViolation(
                "Waste with a witness is recorded for Schedule II medications only.",
                code="waste_not_controlled",
            )
        reason = nonblank(req.reason, "A reason for the waste")
        request = WitnessRequest(
            purpose="waste",
            resident_id=record.resident_id,
            order_id=order.order_id,
            scheduled_for=record.scheduled_for,
            amount=req.amount,
            unit=req.unit,
            decimal_comma=req.decimal_comma,
            of_entry_id=record.entry_id,
        )
        expected = witnessed_dose(order, request)
        now = self._clock.now()
        proof = self._proven_witness(
            principal, req.witness_entry_id, "waste", expected, record.entry_id, read, now
        )
        body = kinds.DoseWasted(
            administration_entry_id=record.entry_id,
            resident_id=record.resident_id,
            order_id=order.order_id,
            amount=expected.amount,
            unit=expected.unit,
            reason=reason,
            witness_entry_id=proof.entry_id,
            witness=proof.body.witness,
            wasted_at=now,
        )
        return [
            kinds.draft(kinds.DOSE_WASTED, principal.actor, body, proof.body.record_entry_id),
            audit.audit_for(
                principal,
                audit.RECORD_CREATED,
                entity_type="resident",
                entity_id=record.resident_id,
                detail=f"waste of administration {record.entry_id}",
            ),
        ]

    def _proven_witness(
        self,
        principal: Principal,
        entry_id: str | None,
        purpose: WitnessPurpose,
        expected: WitnessedDose,
        of_entry_id: str | None,
        read: ReadModel,
        now: datetime,
    ) -> WitnessProof:
        """The ``witness.attested`` entry ``entry_id`` when it proves a witness for exactly
        ``expected`` (:func:`~mar_desktop.clinical.witness.check_witness_entry`) and no record
        was stored under its ``record_entry_id`` yet (``witness_used``)."""
        proof = self._witness_proof(entry_id)
        witness_user = None if proof is None else read.user(proof.body.witness.user_id)
        if proof is not None and self._account_keys is not None:
            account_public = self._account_keys(proof.body.witness.user_id)
        else:  # no key source: the sign-in on this device checked the key against the account
            account_public = None if proof is None else proof.body.user_public
        check_witness_entry(
            proof,
            purpose=purpose,
            dose=expected,
            of_entry_id=of_entry_id,
            device_id=self._ledger.device_id,
            giver_user_id=principal.user.user_id,
            witness=witness_user,
            account_public=account_public,
            now=now,
        )
        assert proof is not None
        if self._ledger.entry(proof.body.record_entry_id) is not None:
            raise RuleViolation(WITNESS_MESSAGES["witness_used"], code="witness_used",
                                field="witness")
        return proof

    def _witness_proof(self, entry_id: str | None) -> WitnessProof | None:
        if entry_id is None:
            return None
        entry = self._ledger.entry(entry_id)
        if entry is None or entry.kind != kinds.WITNESS_ATTESTED:
            return None
        body = kinds.parse_body(entry.kind, dict(entry.body))
        assert isinstance(body, kinds.WitnessAttested)
        return WitnessProof(entry_id=entry.id, device_id=entry.device_id, body=body)

