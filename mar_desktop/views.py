"""Read-side views: what projections hand to services, reports and screens.

Plain frozen dataclasses, built by the storage layer from projection tables. They hold PHI and
must never be logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from mar_desktop.model import DoseStatus, Order, Outcome


class OrderStatus(StrEnum):
    ACTIVE = "active"
    HELD = "held"
    DISCONTINUED = "discontinued"


class VerificationStatus(StrEnum):
    """Where an order stands in verification (docs/architecture.md#order-verification)."""

    VERIFIED = "verified"  # by a second licensed person, at the upgrade, or not required
    AWAITING = "awaiting"  # entered or changed; not verified yet
    RETURNED = "returned"  # found wrong at verification: never given


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open UTC interval ``[start, end)``; ``end`` None means still open."""

    start: datetime
    end: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True, slots=True)
class OrderState:
    """An order with its life so far: holds and discontinuation (from the ledger)."""

    order: Order
    status: OrderStatus
    holds: tuple[Interval, ...] = ()
    discontinued_at: datetime | None = None
    replaced_by: str | None = None
    verification: VerificationStatus = VerificationStatus.VERIFIED
    acts_at_once: bool = False
    """A change awaiting verification that is givable meanwhile (it only reduces)."""
    returned_reason: str = ""
    replaces: str | None = None
    """The order this one changed (its previous version)."""
    pending_change: str | None = None
    """A change of this order awaiting verification: this order stays givable until then."""
    author_user_id: str = ""
    """Who entered this version of the order (the verifier must be someone else)."""
    entry_id: str = ""
    """The ``order.created``/``order.changed`` entry of this version (what is verified)."""

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def awaiting_verification(self) -> bool:
        return self.verification == VerificationStatus.AWAITING

    @property
    def givable(self) -> bool:
        """Whether doses may be given normally (not as an urgent dose): verified, or a
        reducing change awaiting verification; never a returned order."""
        if self.verification == VerificationStatus.RETURNED:
            return False
        return self.verification == VerificationStatus.VERIFIED or self.acts_at_once

    def active_at(self, moment: datetime) -> bool:
        """Whether doses are due at ``moment``: started, not ended, not discontinued, not held."""
        if moment < self.order.start:
            return False
        if self.order.end is not None and moment >= self.order.end:
            return False
        if self.discontinued_at is not None and moment >= self.discontinued_at:
            return False
        return not any(hold.contains(moment) for hold in self.holds)

    def held_at(self, moment: datetime) -> bool:
        return any(hold.contains(moment) for hold in self.holds)


@dataclass(frozen=True, slots=True)
class Waste:
    """Part of a Schedule II dose discarded (``administration.wasted``), with its witness."""

    entry_id: str
    amount: Decimal
    unit: str
    reason: str
    witness_name: str
    actor_user_id: str
    wasted_at: datetime
    witness_proven: bool = False
    """Its ``witness.attested`` entry names it, from the same device."""


@dataclass(frozen=True, slots=True)
class Amendment:
    entry_id: str
    author_user_id: str
    recorded_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class AdministrationRecord:
    """One recorded administration event and what happened to it afterwards."""

    entry_id: str
    resident_id: str
    order_id: str
    scheduled_for: datetime | None
    administered_at: datetime
    recorded_at: datetime
    outcome: Outcome
    actor_user_id: str
    actor_role: str
    device_id: str
    reason_code: str | None = None
    reason_text: str = ""
    dose_given: Decimal | None = None
    dose_unit: str = ""
    route: str = ""
    site: str = ""
    note: str = ""
    prn_reason: str = ""
    pain_score: int | None = None
    outside_window_reason: str = ""
    witness_user_id: str | None = None
    witness_name: str | None = None
    vitals: dict[str, str] = field(default_factory=dict)
    voided: bool = False
    void_reason: str = ""
    voided_by: str | None = None
    voided_at: datetime | None = None
    amendments: tuple[Amendment, ...] = ()
    followup_due_at: datetime | None = None
    followup_done_at: datetime | None = None
    followup_result: str | None = None
    urgent_reason: str = ""
    """Set for an urgent dose on an order awaiting verification (flagged on the record)."""
    urgent_second_name: str = ""
    witness_entry_id: str | None = None
    """The ``witness.attested`` entry that proves this dose's witness (same device, naming
    this record, the witness's own signature valid); None for a dose without one (older
    entries carry only the embedded attestation)."""
    witnessed_by: str = ""
    """The proven witness's name and credentials, from that entry."""
    wastes: tuple[Waste, ...] = ()

    @property
    def urgent(self) -> bool:
        return bool(self.urgent_reason)

    @property
    def counts_as_given(self) -> bool:
        """A dose the resident actually received (for PRN limits and double-dose checks)."""
        return self.outcome == Outcome.GIVEN and not self.voided

    @property
    def current_note(self) -> str:
        return self.amendments[-1].text if self.amendments else self.note


@dataclass(frozen=True, slots=True)
class ScheduledDose:
    """One expected dose of a scheduled order, with its window and status at ``as_of``."""

    order_id: str
    resident_id: str
    scheduled_for: datetime
    window_start: datetime
    window_end: datetime
    status: DoseStatus
    record: AdministrationRecord | None = None
    awaiting_verification: bool = False
    """The order awaits verification: givable only as an urgent dose (the pass list marks it)."""


@dataclass(frozen=True, slots=True)
class AlertView:
    alert_id: str
    entry_id: str
    alert_type: str
    raised_at: datetime
    resident_id: str | None
    order_id: str | None
    detail: str
    related_entry_ids: tuple[str, ...]
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_comment: str = ""


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """A verification, return or the upgrade entry, as recorded."""

    order_id: str
    target_entry_id: str
    decision: str  # verified | returned | upgrade
    actor_user_id: str
    reason: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class PendingVerification:
    """One thing awaiting a second licensed person: a new, changed or imported order
    (``what``: ``new``, ``change``), or a hold, resume or discontinuation already in effect
    (``held``, ``resumed``, ``discontinued``: verified afterwards)."""

    state: OrderState
    what: str
    target_entry_id: str
    author_user_id: str
    entered_at: datetime
    source: str  # hand | import
    source_values: tuple[tuple[str, str], ...] = ()
    previous: Order | None = None  # the version a change replaces
    reason: str = ""  # a change's or a status change's reason


@dataclass(frozen=True, slots=True)
class UrgentDose:
    """An urgent dose given on an order awaiting verification (the override report)."""

    administration_entry_id: str
    resident_id: str
    order_id: str
    reason: str
    given_by_user_id: str
    second_user_id: str
    second_name: str
    recorded_at: datetime
