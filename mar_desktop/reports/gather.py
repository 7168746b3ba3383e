"""Gathering report data: the use cases behind ``print shift``, ``print monthly`` and the
exports. Each checks the permission (a refusal is audited), reads through the ReadModel port,
builds the immutable data object a renderer needs, and appends one audit event — who, which
report, which window, which residents — before returning. Worker thread only.

Permissions: printing needs ``PRINT_REPORTS`` (and the unit in the user's scope); the surveyor
export and the FHIR export need ``EXPORT_FACILITY`` (facility-wide, so no unit scope applies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from mar_desktop import audit
from mar_desktop.clinical.schedule import dose_statuses
from mar_desktop.envelope import Entry
from mar_desktop.errors import HistoryNotHeld, NotFound, PermissionDenied, ValidationError
from mar_desktop.model import Facility, Resident, Unit, User
from mar_desktop.permissions import Permission, Principal
from mar_desktop.ports import ReadModel
from mar_desktop.reports.data import MonthlyMarData, ResidentMar, ShiftSheetData
from mar_desktop.reports.shifts import DEFAULT_SHIFTS, ShiftDefinition, month_window, shift_window
from mar_desktop.services.base import Service
from mar_desktop.views import AdministrationRecord, OrderState


class EntrySource(Protocol):
    """Ledger entries by time (implemented by ``storage.report_queries.ReportQueries``)."""

    def ledger_entries(self, since: datetime, until: datetime) -> list[Entry]:
        """Ledger-chain entries with ``since <= recorded_at < until``, ordered by recorded_at,
        device id, seq."""
        ...


@dataclass(frozen=True, slots=True)
class ExportData:
    """Everything the surveyor export (CSV, chronological PDF) and the FHIR export need."""

    facility: Facility
    since: datetime
    until: datetime
    exported_by: User
    exported_at: datetime
    entries: tuple[Entry, ...]
    users: dict[str, User]
    residents: dict[str, Resident]
    orders: dict[str, OrderState]
    records: dict[str, AdministrationRecord]  # by entry id: administrations of the window


def _runs_during(state: OrderState, start: datetime, end: datetime) -> bool:
    order = state.order
    stop = min((t for t in (order.end, state.discontinued_at) if t is not None), default=None)
    return order.start < end and (stop is None or stop > start)


def _window_text(start: datetime, end: datetime) -> dict[str, str]:
    return {"from": start.isoformat(), "to": end.isoformat()}


class ReportService(Service):
    """Report use cases. Construct with the usual :class:`~mar_desktop.services.base.Ports`."""

    def _mars(
        self,
        read: ReadModel,
        facility: Facility,
        residents: Sequence[Resident],
        start: datetime,
        end: datetime,
    ) -> tuple[ResidentMar, ...]:
        _require_history(read, start)
        ids = [r.resident_id for r in residents]
        if not ids:
            return ()
        states = read.orders(ids, include_discontinued=True)
        records = read.administrations(since=start, until=end, resident_ids=ids)
        now = self._clock.now()
        records_of: dict[str, list[AdministrationRecord]] = {}
        for record in records:
            records_of.setdefault(record.resident_id, []).append(record)
        states_of: dict[str, list[OrderState]] = {}
        for state in states:
            states_of.setdefault(state.order.resident_id, []).append(state)
        out = []
        for resident in residents:
            mine = records_of.get(resident.resident_id, [])
            by_order: dict[str, list[AdministrationRecord]] = {}
            for record in mine:
                by_order.setdefault(record.order_id, []).append(record)
            orders = tuple(
                s
                for s in states_of.get(resident.resident_id, [])
                if _runs_during(s, start, end) or s.order_id in by_order
            )
            doses = tuple(
                dose
                for state in orders
                for dose in dose_statuses(
                    state,
                    by_order.get(state.order_id, ()),
                    start,
                    end,
                    now=now,
                    facility=facility,
                )
            )
            out.append(ResidentMar(resident, orders, doses, tuple(mine)))
        return tuple(out)

    def _audit_print(
        self,
        principal: Principal,
        report: str,
        start: datetime,
        end: datetime,
        resident_ids: Iterable[str],
        action: str = audit.PRINTED,
        **extra: Any,
    ) -> None:
        ids = sorted(resident_ids)
        after = {"report": report, **_window_text(start, end), "resident_ids": ids, **extra}
        self._append(
            [
                audit.audit_for(
                    principal,
                    action,
                    entity_type="report",
                    entity_id=report,
                    after=after,
                    detail=f"{report} {start:%Y-%m-%dT%H:%MZ} to {end:%Y-%m-%dT%H:%MZ}, {len(ids)}",
                )
            ]
        )

    def _users(self, read: ReadModel) -> dict[str, User]:
        return {u.user_id: u for u in read.users(include_inactive=True)}

    def shift_sheet(
        self,
        principal: Principal,
        *,
        unit_id: str,
        day: date,
        shift: str,
        shifts: tuple[ShiftDefinition, ...] = DEFAULT_SHIFTS,
    ) -> ShiftSheetData:
        """Data for the shift MAR sheet of ``unit_id``, shift ``shift`` starting on local ``day``.

        Raises PermissionDenied (audited), NotFound (unknown unit), ValidationError (shift)."""
        self._require(
            principal,
            Permission.PRINT_REPORTS,
            unit_id=unit_id,
            entity_type="unit",
            entity_id=unit_id,
        )
        read = self._read
        facility = self._facility()
        unit = _unit(read.units(), unit_id)
        window = shift_window(day, shift, facility.zone, shifts)
        residents = read.residents([unit_id])
        mars = self._mars(read, facility, residents, window.start, window.end)
        self._audit_print(
            principal,
            "shift_mar",
            window.start,
            window.end,
            (r.resident_id for r in residents),
            unit_id=unit_id,
            shift=shift,
        )
        return ShiftSheetData(
            facility, unit, window, principal.user, self._clock.now(), mars, self._users(read)
        )

    def monthly_mar(
        self,
        principal: Principal,
        *,
        year: int,
        month: int,
        resident_id: str | None = None,
        unit_id: str | None = None,
    ) -> MonthlyMarData:
        """Data for the monthly MAR: one resident, one unit, or every resident the user may see.

        Raises PermissionDenied (audited), NotFound, ValidationError (bad month)."""
        read = self._read
        facility = self._facility()
        start, end = month_window(year, month, facility.zone)
        unit: Unit | None = None
        if resident_id is not None:
            residents = [self._resident_in_scope(principal, resident_id, Permission.PRINT_REPORTS)]
        else:
            self._require(
                principal,
                Permission.PRINT_REPORTS,
                unit_id=unit_id,
                entity_type="unit",
                entity_id=unit_id or "",
            )
            if unit_id is not None:
                unit = _unit(read.units(), unit_id)
            scope = principal.unit_scope(self._clock.now())
            units = [unit_id] if unit_id else (sorted(scope) if scope is not None else None)
            residents = read.residents(units)
        mars = self._mars(read, facility, residents, start, end)
        self._audit_print(
            principal,
            "monthly_mar",
            start,
            end,
            (r.resident_id for r in residents),
            month=f"{year:04d}-{month:02d}",
        )
        return MonthlyMarData(
            facility,
            year,
            month,
            start,
            end,
            principal.user,
            self._clock.now(),
            mars,
            self._users(read),
            unit,
        )

    def export_data(
        self,
        principal: Principal,
        *,
        since: datetime,
        until: datetime,
        entries: EntrySource,
        report: str = "surveyor_export",
    ) -> ExportData:
        """Data for the surveyor export or the FHIR export (``report`` names which, for the
        audit event) of ``[since, until)``. Needs EXPORT_FACILITY (refusal audited)."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValidationError("The export window needs times with a time zone.")
        if until <= since:
            raise ValidationError("The export window must end after it starts.")
        self._require(
            principal, Permission.EXPORT_FACILITY, entity_type="facility", entity_id=report
        )
        read = self._read
        facility = self._facility()
        _require_history(read, since)
        found = entries.ledger_entries(since, until)
        residents = {r.resident_id: r for r in read.residents(include_inactive=True)}
        orders = {s.order_id: s for s in read.orders(list(residents), include_discontinued=True)}
        records = {r.entry_id: r for r in read.administrations(since=since, until=until)}
        for entry in found:  # administrations recorded in the window for doses outside it
            if entry.kind == "administration.recorded" and entry.id not in records:
                record = read.administration(entry.id)
                if record is not None:
                    records[entry.id] = record
        touched = _residents_exported(found, records, orders, since, until, report)
        self._audit_print(
            principal, report, since, until, touched, action=audit.EXPORTED, entries=len(found)
        )
        return ExportData(
            facility,
            since,
            until,
            principal.user,
            self._clock.now(),
            tuple(found),
            self._users(read),
            residents,
            orders,
            records,
        )


def _residents_exported(
    found: Sequence[Entry],
    records: Mapping[str, AdministrationRecord],
    orders: Mapping[str, OrderState],
    since: datetime,
    until: datetime,
    report: str,
) -> set[str]:
    """Every resident whose data the export writes, for its audit entry (the access report
    reads ``resident_ids`` from it): each exported entry's resident (its own field, its
    resident's or order's, or that of the dose or order it names) and each dose's; a FHIR
    export also writes the orders running in the window and their residents."""
    touched = {r.resident_id for r in records.values()}
    for entry in found:
        body = entry.body
        direct = body.get("resident_id")
        for key in ("resident", "order"):
            inner = body.get(key)
            if isinstance(inner, dict) and isinstance(inner.get("resident_id"), str):
                direct = inner["resident_id"]
        if isinstance(direct, str):
            touched.add(direct)
            continue
        target = records.get(str(body.get("target_entry_id", "")))
        state = orders.get(str(body.get("order_id", "")))
        if target is not None:
            touched.add(target.resident_id)
        elif state is not None:
            touched.add(state.order.resident_id)
    if report == "fhir_export":
        touched |= {
            s.order.resident_id
            for s in orders.values()
            if s.order.start < until
            and (s.discontinued_at is None or s.discontinued_at > since)
            and (s.order.end is None or s.order.end > since)
        }
    return touched


def _require_history(read: ReadModel, start: datetime) -> None:
    """Refuses a report window this tablet does not hold the whole history of (a tablet that
    started from the server's snapshot and is still fetching it, or a window older than the
    history it keeps): a MAR or export with records silently missing would mislead."""
    held_from = read.history_complete_from()
    if held_from is not None and start < held_from:
        raise HistoryNotHeld(
            "This tablet does not hold the facility's whole history before "
            f"{held_from:%Y-%m-%d %H:%M} UTC yet (it is still being fetched from the server, "
            "or is older than this tablet keeps). Choose a later window, try again once the "
            "history is complete, or ask the administrator to export it from the server "
            "(mar-server export)."
        )


def _unit(units: Sequence[Unit], unit_id: str) -> Unit:
    for unit in units:
        if unit.unit_id == unit_id:
            return unit
    raise NotFound("No such unit.")


__all__ = ["EntrySource", "ExportData", "PermissionDenied", "ReportService"]
