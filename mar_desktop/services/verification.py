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

Every method checks permission and unit scope first (a refusal is audited) and raises
PermissionDenied, NotFound, RuleViolation (codes from :mod:`mar_desktop.clinical.verification`)
or ValidationError; a write stores its ledger and audit entries in ONE transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mar_desktop import audit, kinds
from mar_desktop.clinical.verification import SourceRow, check_verifier, source_rows
from mar_desktop.envelope import Entry, EntryDraft
from mar_desktop.errors import NotFound, PermissionDenied
from mar_desktop.model import Resident
from mar_desktop.permissions import Permission, Principal, allowed, require
from mar_desktop.ports import ReadModel
from mar_desktop.services.base import Service, nonblank
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


class VerificationService(Service):
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
                kinds.draft(kinds.ORDER_RETURNED, principal.actor, body),
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

    # ---- helpers ------------------------------------------------------------------------------
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
            kinds.draft(kinds.ORDER_VERIFIED, principal.actor, body),
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


__all__ = ["VerificationItem", "VerificationService", "VerificationStatus"]
