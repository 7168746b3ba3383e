"""Reading the MAR: unit overview, due-now list and one resident's MAR.

Every method: worker thread; VIEW_MAR permission and unit scope checked (refusal audited).
Opening a resident's MAR shows PHI and appends a ``resident_viewed`` audit entry; list views
do not (they would flood the audit log on every refresh).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

from mar_desktop import audit
from mar_desktop.clinical.rules import prn_next_allowed_at
from mar_desktop.clinical.schedule import dose_statuses, due_now, due_now_lookback
from mar_desktop.errors import NotFound, PermissionDenied
from mar_desktop.model import DoseStatus, Facility, Resident, Unit
from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.assignment_scope import AssignmentScope
from mar_desktop.services.base import Ports, Service
from mar_desktop.services.pass_list import PassList, build_pass_list, pass_window
from mar_desktop.shift_assignment import OutsideAssignment
from mar_desktop.views import (
    AdministrationRecord,
    AlertView,
    OrderState,
    OrderStatus,
    OverrideView,
    ScheduledDose,
    VerificationStatus,
)

_DAY = timedelta(hours=24)
HISTORY_DAYS = 7


@dataclass(frozen=True, slots=True)
class ResidentSummary:
    resident: Resident
    due: int
    late: int
    missed_today: int
    followups_due: int


@dataclass(frozen=True, slots=True)
class PrnStatus:
    order_state: OrderState
    last_given: datetime | None
    given_24h: int
    next_allowed_at: datetime | None  # None: may be given now


@dataclass(frozen=True, slots=True)
class ResidentMar:
    resident: Resident
    orders: tuple[OrderState, ...]
    doses_today: tuple[ScheduledDose, ...]  # every scheduled dose of the local day
    prn: tuple[PrnStatus, ...]
    followups_due: tuple[AdministrationRecord, ...]
    history: tuple[AdministrationRecord, ...]  # newest first, voided included
    as_of: datetime
    overrides: dict[str, tuple[OverrideView, ...]] = field(default_factory=dict)
    """The warnings accepted for the doses of ``history`` that have any, by entry id."""

    def doses_with(self, *statuses: DoseStatus) -> list[ScheduledDose]:
        return [d for d in self.doses_today if d.status in statuses]


def local_day_bounds(facility: Facility, moment: datetime) -> tuple[datetime, datetime]:
    """UTC start and end of the facility-local calendar day containing ``moment``."""
    zone = facility.zone
    day = moment.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(moment.tzinfo), end.astimezone(moment.tzinfo)


class MarService(Service):
    """``assignment_scope``: what shift assignments hide (docs/architecture.md#shift-assignment);
    share it with the ``AssignmentService`` that records the reasons to see past them."""

    def __init__(self, ports: Ports, assignment_scope: AssignmentScope | None = None) -> None:
        super().__init__(ports)
        self.assignment_scope = assignment_scope or AssignmentScope()

    def _scoped_residents(self, principal: Principal, unit_id: str | None) -> list[Resident]:
        """The residents of ``unit_id`` (None: of every unit in scope) the lists show: only
        those of the principal's shift assignment while one is in force (unless the whole
        unit was chosen, with a reason)."""
        self._require(
            principal,
            Permission.VIEW_MAR,
            unit_id=unit_id,
            entity_type="unit",
            entity_id=unit_id or "",
        )
        now = self._clock.now()
        scope = principal.unit_scope(now)
        units: Collection[str] | None = [unit_id] if unit_id is not None else scope
        read = self._read
        residents = read.residents(units)
        assigned = self.assignment_scope.in_force(read, principal, now)
        return self.assignment_scope.narrow(principal, assigned, residents, now)

    def due_now(
        self, principal: Principal, unit_id: str | None = None, upcoming_within_minutes: int = 0
    ) -> list[ScheduledDose]:
        """Due and late doses (and upcoming ones if asked) for the residents in scope."""
        facility = self._facility()
        residents = self._scoped_residents(principal, unit_id)
        now = self._clock.now()
        ids = [r.resident_id for r in residents]
        states = on_the_pass(self._read.orders(ids))
        lookback = due_now_lookback(facility.settings)
        ahead = max(lookback, timedelta(minutes=upcoming_within_minutes))
        # due_now needs only records of doses scheduled from now - lookback on.
        records = self._read.administrations(
            since=now - lookback, until=now + ahead + timedelta(seconds=1), resident_ids=ids
        )
        doses = due_now(
            states, records, now, facility, upcoming_within_minutes=upcoming_within_minutes
        )
        return mark_unverified(doses, states)

    def unit_overview(
        self, principal: Principal, unit_id: str | None = None
    ) -> list[ResidentSummary]:
        """Per resident: doses due and late now, missed today, PRN follow-ups due."""
        facility = self._facility()
        residents = self._scoped_residents(principal, unit_id)
        now = self._clock.now()
        ids = [r.resident_id for r in residents]
        day_start, day_end = local_day_bounds(facility, now)
        since = min(day_start, now - due_now_lookback(facility.settings)) - _DAY
        records = self._read.administrations(since=since, until=day_end, resident_ids=ids)
        states = on_the_pass(self._read.orders(ids))
        by_resident: dict[str, list[OrderState]] = {}
        for state in states:
            by_resident.setdefault(state.order.resident_id, []).append(state)
        counts: Counter[tuple[str, DoseStatus]] = Counter()
        for state in states:
            for dose in dose_statuses(
                state, records, day_start, day_end, now=now, facility=facility
            ):
                counts[(dose.resident_id, dose.status)] += 1
        followups = Counter(r.resident_id for r in records if _followup_due(r, now))
        return [
            ResidentSummary(
                resident=r,
                due=counts[(r.resident_id, DoseStatus.DUE)],
                late=counts[(r.resident_id, DoseStatus.LATE)],
                missed_today=counts[(r.resident_id, DoseStatus.MISSED)],
                followups_due=followups[r.resident_id],
            )
            for r in residents
        ]

    def resident_mar(self, principal: Principal, resident_id: str) -> ResidentMar:
        """One resident's MAR now; appends a ``resident_viewed`` audit entry. Raises
        :class:`~mar_desktop.shift_assignment.OutsideAssignment` (nothing written) for a
        resident outside the principal's shift assignment until a reason was given
        (``AssignmentService.open_outside``)."""
        resident = self._resident_in_scope(principal, resident_id, Permission.VIEW_MAR)
        facility = self._facility()
        now = self._clock.now()
        assigned = self.assignment_scope.in_force(self._read, principal, now)
        if assigned is not None and not self.assignment_scope.may_open(
            principal, assigned, resident, now
        ):
            raise OutsideAssignment()
        day_start, day_end = local_day_bounds(facility, now)
        history_start = now - timedelta(days=HISTORY_DAYS)
        states = self._read.orders([resident_id], include_discontinued=True)
        records = self._read.administrations(
            since=min(history_start, day_start - _DAY),
            until=day_end + _DAY,
            resident_ids=[resident_id],
        )
        doses: list[ScheduledDose] = []
        prn: list[PrnStatus] = []
        for state in on_the_pass(states):
            if state.order.is_prn:
                if state.active_at(now):
                    prn.append(_prn_status(state, records, now))
            else:
                doses.extend(
                    dose_statuses(state, records, day_start, day_end, now=now, facility=facility)
                )
        doses = mark_unverified(doses, states)
        doses.sort(key=lambda d: (d.scheduled_for, d.order_id))
        history = sorted(
            (r for r in records if r.administered_at >= history_start),
            key=lambda r: r.administered_at,
            reverse=True,
        )
        self._append(
            [
                audit.audit_for(
                    principal, audit.RESIDENT_VIEWED, entity_type="resident", entity_id=resident_id
                )
            ]
        )
        return ResidentMar(
            resident=resident,
            orders=tuple(states),
            doses_today=tuple(doses),
            prn=tuple(prn),
            followups_due=tuple(r for r in records if _followup_due(r, now)),
            history=tuple(history),
            as_of=now,
            overrides=self._read.dose_overrides([r.entry_id for r in history]),
        )

    def alerts(self, principal: Principal, *, open_only: bool = True) -> list[AlertView]:
        """Reconciliation alerts visible to the principal: facility-wide ones and those about
        residents on the principal's units. Newest first."""
        self._require(principal, Permission.VIEW_MAR, entity_type="alerts")
        read = self._read
        now = self._clock.now()
        visible: list[AlertView] = []
        for alert in read.alerts(open_only=open_only):
            if alert.resident_id is not None:
                resident = read.resident(alert.resident_id)
                if resident is not None and not principal.may_see_unit(resident.unit_id, now):
                    continue
            visible.append(alert)
        visible.sort(key=lambda a: a.raised_at, reverse=True)
        return visible

    def pass_list(self, principal: Principal, unit_id: str | None = None) -> PassList:
        """The med pass of the unit (or of every unit in scope): doses late, due and coming up
        in the next hour, and how many of the pass are done (:mod:`mar_desktop.services.pass_list`).
        Needs ``view_mar`` on the unit (refusal audited); a list, not one resident's record, so
        not audited per view (as the overview)."""
        facility = self._facility()
        residents = self._scoped_residents(principal, unit_id)
        now = self._clock.now()
        ids = [r.resident_id for r in residents]
        start, end = pass_window(facility, now)
        records = self._read.administrations(
            since=start, until=end + timedelta(seconds=1), resident_ids=ids
        )
        return build_pass_list(
            residents, on_the_pass(self._read.orders(ids)), records, now=now, facility=facility
        )

    def facility(self) -> Facility:
        """The facility (name, time zone, settings; no PHI). NotFound before it is configured."""
        return self._facility()

    def units(self) -> list[Unit]:
        """Every unit of the facility (names only; no PHI)."""
        return self._read.units()

    def units_in_scope(self, principal: Principal) -> list[Unit]:
        """The units ``principal`` may see now (emergency access included)."""
        now = self._clock.now()
        return [u for u in self._read.units() if principal.may_see_unit(u.unit_id, now)]

    def wristband_worn(self, wristband_id: str) -> bool:
        """Whether any resident's wristband carries this id (a scan check: tells a wrong
        resident's band from a label that is no wristband at all; names no one)."""
        return self._read.resident_by_wristband(wristband_id.strip()) is not None

    def printed_name(self, user_id: str) -> str:
        """A user as printed on the record ("Full Name, CREDENTIALS"), or the id if unknown."""
        user = self._read.user(user_id)
        return f"{user.full_name}, {user.credentials}".rstrip(", ") if user else user_id

    def find_by_wristband(self, principal: Principal, wristband_id: str) -> Resident:
        """The resident wearing this wristband, if in the principal's scope.

        Raises NotFound when no current resident wears it, and PermissionDenied (audited as a
        ``permission_refused`` on that resident) when the resident is on a unit outside the
        principal's scope. That refusal names the unit, never the resident: the person holds
        the band, so where it belongs is what lets them hand over to the right nurse, while
        the name, room and record stay with those allowed to see them."""
        self._require(principal, Permission.VIEW_MAR, entity_type="wristband")
        resident = self._read.resident_by_wristband(wristband_id.strip())
        if resident is None or not resident.active:
            raise NotFound("No resident wears this wristband.")
        try:
            self._require(principal, Permission.VIEW_MAR, unit_id=resident.unit_id,
                          entity_type="resident", entity_id=resident.resident_id)
        except PermissionDenied:
            unit = next((u.name for u in self._read.units() if u.unit_id == resident.unit_id),
                        "")
            where = f"a resident of {unit}" if unit else "a resident of another unit"
            raise PermissionDenied(
                f"This wristband belongs to {where}, which is not on your assignment. Ask "
                "that unit's nurse, or start emergency access if you must act."
            ) from None
        return resident


def _followup_due(record: AdministrationRecord, now: datetime) -> bool:
    return (
        record.followup_due_at is not None
        and record.followup_done_at is None
        and not record.voided
        and record.followup_due_at <= now
    )


def _prn_status(state: OrderState, records: list[AdministrationRecord], now: datetime) -> PrnStatus:
    mine = [r for r in records if r.order_id == state.order.order_id and r.counts_as_given]
    last = max((r.administered_at for r in mine if r.administered_at <= now), default=None)
    return PrnStatus(
        order_state=state,
        last_given=last,
        given_24h=sum(1 for r in mine if now - _DAY < r.administered_at <= now),
        next_allowed_at=prn_next_allowed_at(state.order, records, now),
    )


def on_the_pass(states: list[OrderState]) -> list[OrderState]:
    """The orders whose doses the pass shows: not a returned order (never given), and not a
    change awaiting verification while the version it changes is still in force (that
    version's doses are the ones due). Every order stays on the MAR's order list, marked."""
    running = {s.order_id for s in states if s.status != OrderStatus.DISCONTINUED}
    return [
        s
        for s in states
        if s.verification != VerificationStatus.RETURNED
        and not (s.awaiting_verification and not s.acts_at_once and s.replaces in running)
    ]


def mark_unverified(doses: list[ScheduledDose], states: list[OrderState]) -> list[ScheduledDose]:
    """``doses`` with ``awaiting_verification`` set for those of orders that may be given only
    as an urgent dose."""
    waiting = {s.order_id for s in states if s.awaiting_verification and not s.acts_at_once}
    if not waiting:
        return doses
    return [
        replace(d, awaiting_verification=True) if d.order_id in waiting else d for d in doses
    ]
