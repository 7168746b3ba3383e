"""Order verification by a second licensed person (docs/architecture.md#order-verification):
what awaits it, verifying, returning with a reason, the facility's setting for hand-entered
orders, and the urgent doses given on unverified orders (the override report).

The screen's calls, all on the worker thread:

- :meth:`VerificationService.pending` — the queue, each item with the source's values beside
  the transcription (:class:`VerificationItem`); a list view, not audited.
- :meth:`VerificationService.item` — one item (opening it is audited as a view of the
  resident's record).
- :meth:`VerificationService.verify` / :meth:`VerificationService.return_order` — signed
  entries; the verifier is never the author (``verifier_self``).
- :meth:`VerificationService.set_hand_entry_verification` — audited, default on.
- :meth:`VerificationService.urgent_doses` — urgent doses on unverified orders in a period.
- :meth:`VerificationService.decision_signature` — whether a stored verification or return is
  signed by the verifier's own key (what the screen says after a decision).

A verification or return by someone whose session holds their own user key (``user_key``)
also records, in the same transaction just after the decision, an ``order.decision_signed``
entry (:mod:`mar_desktop.clinical.decision_signature`); without a key (an account that has none
yet, or no key source) none is written and the device signature alone carries the decision.

Every method checks permission and unit scope first (a refusal is audited) and raises
PermissionDenied, NotFound, RuleViolation (codes from :mod:`mar_desktop.clinical.verification`)
or ValidationError; a write stores its ledger and audit entries in ONE transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mar_desktop import audit, kinds
from mar_desktop.clinical.decision_signature import (
    DecisionSignature,
    check_decision_signature,
    sign_decision,
    signature_entry_id,
)
from mar_desktop.clinical.verification import SourceRow, check_verifier, source_rows
from mar_desktop.envelope import Entry, EntryDraft, new_id
from mar_desktop.errors import MarError, NotFound, PermissionDenied
from mar_desktop.model import Resident
from mar_desktop.people.held_keys import HeldKeys
from mar_desktop.permissions import Permission, Principal, allowed, require
from mar_desktop.ports import ReadModel
from mar_desktop.services.base import Ports, Service, nonblank
from mar_desktop.signing import DeviceSigner
from mar_desktop.views import OrderStatus, PendingVerification, UrgentDose, VerificationStatus

WHAT_WORDS = {
    "new": "New order",
    "change": "Changed order",
    "held": "Hold (in effect; verify afterwards)",
    "resumed": "Resume (in effect; verify afterwards)",
    "discontinued": "Discontinuation (in effect; verify afterwards)",
}


@dataclass(frozen=True, slots=True)
class VerificationItem:
    """One line of the verification screen.

    ``rows``: the source's value beside ours, field by field (for an import, the pharmacy's
    original values; for hand entry, the values as the entering person typed them);
    ``previous``: for a change, the version it replaces, as rows of the same fields (empty
    otherwise). ``may_verify`` is False when the principal entered it (``why_not`` says so)."""

    pending: PendingVerification
    resident: Resident
    author_name: str
    rows: tuple[SourceRow, ...]
    previous: tuple[SourceRow, ...]
    may_verify: bool
    why_not: str = ""

    @property
    def target_entry_id(self) -> str:
        return self.pending.target_entry_id

    @property
    def what(self) -> str:
        words = WHAT_WORDS.get(self.pending.what, self.pending.what)
        return f"{words} (pharmacy import)" if self.pending.source == "import" else words


@dataclass(frozen=True, slots=True)
class SignedDecision:
    """A stored verification or return and whether its verifier's own key signed it
    (``status`` SIGNED only when the signature, the key and the content all check)."""

    decision_entry_id: str
    decision: str  # "verified" or "returned"
    verifier_name: str
    status: DecisionSignature

    @property
    def own_key(self) -> bool:
        return self.status == DecisionSignature.SIGNED

    @property
    def words(self) -> str:
        """What the screen shows beside the decision."""
        if self.own_key:
            return f"Signed by {self.verifier_name}'s own key"
        if self.status == DecisionSignature.MISSING:
            return "Signed by this device's key"
        return "The verifier's signature does not check: report this to the administrator"


class VerificationService(Service):
    """``user_key``: the signed-in user's own key (``SessionManager.user_key``; None: none);
    ``held_keys``: the keys an account's records say the person held (for checking a stored
    decision's signature; without it no decision reads as signed by the person's own key)."""

    def __init__(
        self,
        ports: Ports,
        user_key: Callable[[str], DeviceSigner | None] | None = None,
        held_keys: HeldKeys | None = None,
    ) -> None:
        super().__init__(ports)
        self._user_key = user_key or (lambda _user_id: None)
        self._held_keys = held_keys or (lambda _user_id: frozenset())

    def pending(self, principal: Principal, unit_id: str | None = None) -> list[VerificationItem]:
        """What awaits verification on the principal's units (or ``unit_id``), oldest first.
        Needs VERIFY_ORDERS (or MANAGE_ORDERS, to see what one entered)."""
        self._require_queue(principal, unit_id)
        read = self._read
        now = self._clock.now()
        units = [unit_id] if unit_id is not None else principal.unit_scope(now)
        residents = {r.resident_id: r for r in read.residents(units)}
        return [
            self._item(principal, read, p, residents[p.state.order.resident_id])
            for p in read.pending_verifications(list(residents))
        ]

    def item(self, principal: Principal, target_entry_id: str) -> VerificationItem:
        """One pending item by the entry it verifies; audited as a view of the resident."""
        read = self._read
        found = _find(read.pending_verifications(), target_entry_id)
        resident = self._resident_in_scope(
            principal, found.state.order.resident_id, Permission.VIEW_MAR
        )
        self._require_queue(principal, resident.unit_id)
        self._append(
            [
                audit.audit_for(
                    principal,
                    audit.RESIDENT_VIEWED,
                    entity_type="resident",
                    entity_id=resident.resident_id,
                    detail=f"order verification of {found.state.order_id}",
                )
            ]
        )
        return self._item(principal, read, found, resident)

    def verify(self, principal: Principal, target_entry_id: str, note: str = "") -> Entry:
        """Verifies the pending entry ``target_entry_id``. A change that waited starts now:
        the version it replaces is discontinued in the same transaction (a v1
        ``order.discontinued``, which older tablets apply too). Raises RuleViolation
        (``verifier_self``, ``verifier_role``, ``verifier_inactive``)."""

        def build(read: ReadModel, resident: Resident) -> list[EntryDraft]:
            found = _find(read.pending_verifications([resident.resident_id]), target_entry_id)
            return self._verification(principal, read, found, note)

        entries = self._decide(principal, target_entry_id, build)
        return entries[0]

    def verify_many(
        self, principal: Principal, target_entry_ids: Sequence[str], note: str = ""
    ) -> list[Entry]:
        """:meth:`verify` for each id, in ONE transaction, each checked on its own (scope,
        author, role); any refusal stores nothing. For loading a facility's orders (the demo
        seed); a screen verifies one item at a time beside its source."""
        self._require(principal, Permission.VERIFY_ORDERS, entity_type="order")
        wanted = list(target_entry_ids)

        def decide(read: ReadModel) -> list[EntryDraft]:
            pending = read.pending_verifications()
            now = self._clock.now()
            drafts: list[EntryDraft] = []
            for target in wanted:
                found = _find(pending, target)
                resident = read.resident(found.state.order.resident_id)
                if resident is None:
                    raise NotFound("No such resident.")
                require(principal, Permission.VERIFY_ORDERS, unit_id=resident.unit_id, now=now)
                drafts += self._verification(principal, read, found, note)
            return drafts

        entries = self._ledger.append_decided(decide)
        return [e for e in entries if e.kind == kinds.ORDER_VERIFIED]

    def return_order(self, principal: Principal, target_entry_id: str, reason: str) -> Entry:
        """Returns the pending entry with a reason: a returned order is never given (a change
        that waited leaves the previous version in force; one that acted at once leaves the
        previous version discontinued). A returned hold, resume or discontinuation stays in
        effect: the reason tells the author what to correct."""
        why = nonblank(reason, "Reason")

        def build(read: ReadModel, resident: Resident) -> list[EntryDraft]:
            found = _find(read.pending_verifications([resident.resident_id]), target_entry_id)
            check_verifier(principal.user, found.author_user_id)
            body = kinds.OrderReturned(
                order_id=found.state.order_id,
                target_entry_id=target_entry_id,
                target_author_user_id=found.author_user_id,
                reason=why,
            )
            return [
                *self._decision(principal, found, kinds.ORDER_RETURNED, body),
                self._audit(principal, found, "returned", why),
            ]

        entries = self._decide(principal, target_entry_id, build)
        return entries[0]

    def set_hand_entry_verification(
        self, principal: Principal, required: bool, reason: str
    ) -> Entry:
        """Turns verification of hand-entered orders on or off (imports always need it);
        audited with before and after. Needs MANAGE_CLINICAL_SETTINGS or MANAGE_SETTINGS."""
        if not allowed(principal.role, Permission.MANAGE_SETTINGS):
            self._require(principal, Permission.MANAGE_CLINICAL_SETTINGS, entity_type="facility")
        facility = self._facility()
        before = self._read.hand_entry_verification()
        body = kinds.VerificationSettingChanged(
            hand_entered_orders=required, reason=nonblank(reason, "Reason")
        )
        return self._append(
            [
                kinds.draft(kinds.VERIFICATION_SETTING_CHANGED, principal.actor, body),
                audit.audit_for(
                    principal,
                    audit.SETTINGS_CHANGED,
                    entity_type="facility",
                    entity_id=facility.facility_id,
                    before={"verify_hand_entered_orders": before},
                    after={"verify_hand_entered_orders": required},
                    detail=body.reason,
                ),
            ]
        )[0]

    def hand_entry_verification(self, principal: Principal) -> bool:
        """The current setting (True: hand-entered orders need verification)."""
        self._require(principal, Permission.VIEW_MAR, entity_type="facility")
        return self._read.hand_entry_verification()

    def urgent_doses(
        self, principal: Principal, *, since: datetime, until: datetime
    ) -> list[UrgentDose]:
        """Urgent doses given on orders awaiting verification in ``[since, until)`` on the
        principal's units: the override report's count. Needs REVIEW_OVERRIDES."""
        self._require(principal, Permission.REVIEW_OVERRIDES, entity_type="report")
        read = self._read
        now = self._clock.now()
        visible = {r.resident_id for r in read.residents(principal.unit_scope(now))}
        return [d for d in read.urgent_doses(since=since, until=until) if d.resident_id in visible]

    def decision_signature(self, principal: Principal, decision_entry_id: str) -> SignedDecision:
        """Whether the stored ``order.verified``/``order.returned`` entry ``decision_entry_id``
        is signed by its verifier's own key
        (:func:`~mar_desktop.clinical.decision_signature.check_decision_signature`). Needs
        VIEW_MAR on the order's unit. Raises NotFound, PermissionDenied."""
        entry = self._ledger.entry(decision_entry_id)
        if entry is None or entry.kind not in (kinds.ORDER_VERIFIED, kinds.ORDER_RETURNED):
            raise NotFound("No such verification.")
        decided = kinds.parse_body(entry.kind, entry.body)
        assert isinstance(decided, kinds.OrderVerified | kinds.OrderReturned)
        state = self._read.order(decided.order_id)
        if state is None:
            raise NotFound("No such order.")
        resident_id = state.order.resident_id
        self._resident_in_scope(principal, resident_id, Permission.VIEW_MAR)
        verifier_id = entry.actor.get("user_id", "")
        signed = self._signature_of(decision_entry_id)
        status = check_decision_signature(
            entry, signed, resident_id=resident_id, held_keys=self._held_keys(verifier_id)
        )
        verifier = self._read.user(verifier_id)
        return SignedDecision(
            decision_entry_id=decision_entry_id,
            decision="verified" if entry.kind == kinds.ORDER_VERIFIED else "returned",
            verifier_name=verifier.full_name if verifier is not None else verifier_id,
            status=status,
        )

    # ---- helpers ------------------------------------------------------------------------------
    def _decision(
        self,
        principal: Principal,
        found: PendingVerification,
        kind: str,
        body: kinds.OrderVerified | kinds.OrderReturned,
    ) -> list[EntryDraft]:
        """The decision's draft, then (when the verifier's session holds their own key) the
        ``order.decision_signed`` draft signing it, stored under the decision's derived id."""
        decision_id = new_id()
        drafts = [kinds.draft(kind, principal.actor, body, entry_id=decision_id)]
        key = self._user_key(principal.user.user_id)
        if key is None:
            return drafts
        signed = sign_decision(
            decision_entry_id=decision_id,
            decision_kind=kind,
            target_entry_id=found.target_entry_id,
            order_id=found.state.order_id,
            resident_id=found.state.order.resident_id,
            verifier_user_id=principal.user.user_id,
            key=key,
        )
        drafts.append(
            kinds.draft(
                kinds.ORDER_DECISION_SIGNED,
                principal.actor,
                signed,
                entry_id=signature_entry_id(decision_id),
            )
        )
        return drafts

    def _signature_of(self, decision_entry_id: str) -> kinds.OrderDecisionSigned | None:
        """The ``order.decision_signed`` entry stored under the decision's derived id (None:
        absent, another kind, or a body this version cannot read)."""
        entry = self._ledger.entry(signature_entry_id(decision_entry_id))
        if entry is None or entry.kind != kinds.ORDER_DECISION_SIGNED:
            return None
        try:
            body = kinds.parse_body(entry.kind, entry.body)
        except MarError:
            return None
        return body if isinstance(body, kinds.OrderDecisionSigned) else None

    def _require_queue(self, principal: Principal, unit_id: str | None) -> None:
        if allowed(principal.role, Permission.MANAGE_ORDERS):
            self._require(principal, Permission.MANAGE_ORDERS, unit_id=unit_id, entity_type="unit")
        else:
            self._require(principal, Permission.VERIFY_ORDERS, unit_id=unit_id, entity_type="unit")

    def _decide(
        self,
        principal: Principal,
        target_entry_id: str,
        build: Callable[[ReadModel, Resident], list[EntryDraft]],
    ) -> list[Entry]:
        found = _find(self._read.pending_verifications(), target_entry_id)
        return self._decide_for_resident(
            principal, Permission.VERIFY_ORDERS, found.state.order.resident_id, build
        )

    def _verification(
        self, principal: Principal, read: ReadModel, found: PendingVerification, note: str
    ) -> list[EntryDraft]:
        """The drafts verifying ``found``: the check, a waiting change's start, the audit."""
        check_verifier(principal.user, found.author_user_id)
        body = kinds.OrderVerified(
            order_id=found.state.order_id,
            target_entry_id=found.target_entry_id,
            target_author_user_id=found.author_user_id,
            note=note.strip(),
        )
        return [
            *self._decision(principal, found, kinds.ORDER_VERIFIED, body),
            *self._start_change(principal, read, found),
            self._audit(principal, found, "verified", body.note),
        ]

    def _start_change(
        self, principal: Principal, read: ReadModel, found: PendingVerification
    ) -> list[EntryDraft]:
        """For a verified change that waited: the v1 ``order.discontinued`` of the version it
        replaces, effective at the change's start or now, whichever is later."""
        state = found.state
        if found.what != "change" or state.acts_at_once or state.replaces is None:
            return []
        previous = read.order(state.replaces)
        if previous is None or previous.status == OrderStatus.DISCONTINUED:
            return []
        when = max(state.order.start, self._clock.now())
        body = kinds.OrderStatusChanged(
            order_id=state.replaces,
            reason=f"Replaced by a verified change ({found.reason or 'changed order'})"[:2000],
            effective_at=when,
        )
        return [kinds.draft(kinds.ORDER_DISCONTINUED, principal.actor, body)]

    def _audit(
        self, principal: Principal, found: PendingVerification, decision: str, text: str
    ) -> EntryDraft:
        return audit.audit_for(
            principal,
            audit.RECORD_AMENDED,
            entity_type="order",
            entity_id=found.state.order_id,
            after={"verification": decision, "target_entry_id": found.target_entry_id},
            detail=f"order {decision}" + (f": {text}" if text else ""),
        )

    def _item(
        self,
        principal: Principal,
        read: ReadModel,
        pending: PendingVerification,
        resident: Resident,
    ) -> VerificationItem:
        author = read.user(pending.author_user_id)
        mine = pending.author_user_id == principal.user.user_id
        may = not mine and _may_verify(principal)
        why = "You entered this; a second person must verify it." if mine else ""
        if not mine and not may:
            why = "Orders are verified by a nurse, director of nursing or pharmacist."
        order = pending.state.order
        return VerificationItem(
            pending=pending,
            resident=resident,
            author_name=author.full_name if author is not None else pending.author_user_id,
            rows=source_rows(order, pending.source_values),
            previous=() if pending.previous is None else source_rows(pending.previous, ()),
            may_verify=may,
            why_not=why,
        )


def _may_verify(principal: Principal) -> bool:
    try:
        require(principal, Permission.VERIFY_ORDERS)
    except PermissionDenied:
        return False
    return True


def _find(pending: Sequence[PendingVerification], target_entry_id: str) -> PendingVerification:
    for item in pending:
        if item.target_entry_id == target_entry_id:
            return item
    raise NotFound("Nothing awaits verification under this id (already verified or returned?).")


__all__ = ["SignedDecision", "VerificationItem", "VerificationService", "VerificationStatus"]
