"""Ports: what the core's services need from storage. ``storage`` implements them.

Contract for every method: called from a worker thread (never the GUI thread), on one
connection per thread; reads never write; raise only :class:`~mar_desktop.errors.MarError`
subclasses (StorageError family for database trouble).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Protocol

from mar_desktop.envelope import Entry, EntryDraft
from mar_desktop.model import Facility, Resident, Unit, User
from mar_desktop.shift_assignment import ShiftAssignment
from mar_desktop.views import (
    AdministrationRecord,
    AlertView,
    OrderCheck,
    OrderState,
    OverrideView,
    PendingVerification,
    UrgentDose,
)


class LedgerWriter(Protocol):
    """Appends to this device's ledger and audit chains."""

    @property
    def device_id(self) -> str: ...

    @property
    def facility_id(self) -> str: ...

    def append(self, drafts: Sequence[EntryDraft]) -> list[Entry]:
        """Seals (numbers, links, signs) each draft into its chain, in order, stores the entries
        and updates the projections in ONE transaction committed durably before returning.
        All or nothing: on any error nothing is stored and the chain heads are unchanged.
        Validates every body against its kind first (raises ValidationError)."""
        ...

    def append_decided(
        self, decide: Callable[[ReadModel], Sequence[EntryDraft]]
    ) -> list[Entry]:
        """Runs ``decide`` with a ReadModel on the writer's own connection INSIDE the write
        transaction, then appends the drafts it returns in that same transaction. Nothing can
        change between what ``decide`` read and what is stored. If ``decide`` raises, nothing is
        stored and the exception propagates unchanged. ``decide`` must not call ``append``."""
        ...

    def entry(self, entry_id: str) -> Entry | None:
        """The stored entry with this id (either chain), or None."""
        ...


class ReadModel(Protocol):
    """Queries over the projections. Returned objects are immutable snapshots."""

    def facility(self) -> Facility | None: ...

    def units(self) -> list[Unit]: ...

    def resident(self, resident_id: str) -> Resident | None: ...

    def resident_by_wristband(self, wristband_id: str) -> Resident | None: ...

    def residents(
        self, unit_ids: Collection[str] | None = None, *, include_inactive: bool = False
    ) -> list[Resident]:
        """Residents of the given units (all units if None), ordered by room then name."""
        ...

    def order(self, order_id: str) -> OrderState | None: ...

    def orders(
        self, resident_ids: Collection[str], *, include_discontinued: bool = False
    ) -> list[OrderState]:
        """The residents' orders (discontinued ones only if asked), ordered by resident, drug."""
        ...

    def administrations(
        self,
        *,
        since: datetime,
        until: datetime,
        resident_ids: Collection[str] | None = None,
        order_ids: Collection[str] | None = None,
    ) -> list[AdministrationRecord]:
        """Records whose administered_at OR scheduled_for lies in ``[since, until)``, voided ones
        included (flagged), ordered by administered_at."""
        ...

    def administration(self, entry_id: str) -> AdministrationRecord | None: ...

    def users(self, *, include_inactive: bool = False) -> list[User]: ...

    def user(self, user_id: str) -> User | None: ...

    def user_by_username(self, username: str) -> User | None: ...

    def alerts(self, *, open_only: bool = True) -> list[AlertView]: ...

    # ---- order verification (docs/architecture.md#order-verification) ----
    def hand_entry_verification(self) -> bool:
        """Whether hand-entered orders need verification now (default True)."""
        ...

    def pending_verifications(
        self, resident_ids: Collection[str] | None = None
    ) -> list[PendingVerification]:
        """What awaits a second licensed person, of these residents (None: all)."""
        ...

    def order_checks(self, order_id: str) -> list[OrderCheck]: ...

    def urgent_doses(self, *, since: datetime, until: datetime) -> list[UrgentDose]: ...

    def shift_assignments(
        self, user_id: str, *, since: datetime, until: datetime
    ) -> list[ShiftAssignment]:
        """Every shift assignment of ``user_id`` whose shift overlaps ``[since, until]``
        (docs/architecture.md#shift-assignment)."""

    def dose_overrides(self, entry_ids: Collection[str]) -> dict[str, tuple[OverrideView, ...]]:
        """The warnings accepted for each of these doses that has any (by dose entry id)."""
        ...

    def history_complete_from(self) -> datetime | None:
        """From when this tablet holds the facility's whole ledger history (a tablet that
        started from the server's snapshot fills it in from the newest entry down); None
        when it holds all of it."""
        ...
