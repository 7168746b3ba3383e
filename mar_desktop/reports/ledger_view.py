"""The surveyor export's data straight from ledger entries, with no database: for the facility
server (``mar-server export``), which holds every device's entries but no tablet projections.

:func:`export_data_from_entries` folds the facility's ledger entries, in the order the server
stored them, into exactly what the export's files print beside each entry (the same
:class:`~mar_desktop.reports.gather.ExportData` a tablet builds from its read model): the
facility, every person (their latest account version), every resident (latest details, room
after transfers, discharged ones included), every order version, and the administrations of
the window with their voids and amended notes as they stand after the last entry. The renderers
(``entries.csv``, ``entries.pdf``) are the tablet's own, so both exports of a window agree.

Order states carry the order itself only (status ACTIVE, no holds): the export prints an
order's drug and resident, nothing of its life. An entry whose body this version cannot read is
still exported (it is in ``found``); it only adds nothing to the people, residents or orders.
Pure: no I/O, any thread. Raises nothing for odd entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from mar_desktop import kinds
from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.envelope import Entry
from mar_desktop.errors import NotFound, ValidationError
from mar_desktop.model import Facility, Resident, User
from mar_desktop.reports.gather import ExportData
from mar_desktop.views import AdministrationRecord, Amendment, OrderState, OrderStatus


def _record(entry: Entry, body: kinds.AdministrationRecorded) -> AdministrationRecord:
    witness = body.witness
    return AdministrationRecord(
        entry_id=entry.id,
        resident_id=body.resident_id,
        order_id=body.order_id,
        scheduled_for=body.scheduled_for,
        administered_at=body.administered_at,
        recorded_at=parse_utc(entry.recorded_at),
        outcome=body.outcome,
        actor_user_id=str(entry.actor.get("user_id", "")),
        actor_role=str(entry.actor.get("role", "")),
        device_id=entry.device_id,
        reason_code=body.reason_code,
        reason_text=body.reason_text,
        dose_given=body.dose_given,
        dose_unit=body.dose_unit,
        route=body.route,
        site=body.site,
        note=body.note,
        prn_reason=body.prn_reason,
        pain_score=body.pain_score,
        witness_user_id=witness.user_id if witness is not None else None,
        witness_name=witness.full_name if witness is not None else None,
    )


class _Fold:
    """The state the export needs, entry by entry."""

    def __init__(self) -> None:
        self.facility: Facility | None = None
        self.users: dict[str, User] = {}
        self.residents: dict[str, Resident] = {}
        self.orders: dict[str, OrderState] = {}
        self.records: dict[str, AdministrationRecord] = {}

    def add(self, entry: Entry) -> None:
        try:
            body = kinds.parse_body(entry.kind, entry.body)
        except (ValidationError, KeyError, ValueError):
            return  # a kind or body version this release does not read: exported, not folded
        match body:
            case kinds.FacilityConfigured():
                self.facility = body.facility
            case kinds.UserCreated():
                self.users[body.user.user_id] = body.user
            case kinds.UserChanged():
                self.users[body.after.user_id] = body.after
            case kinds.ResidentAdmitted() | kinds.ResidentUpdated():
                self.residents[body.resident.resident_id] = body.resident
            case kinds.ResidentTransferred():
                self._resident(body.resident_id, unit_id=body.unit_id, room=body.room)
            case kinds.ResidentDischarged():
                self._resident(body.resident_id, active=False)
            case kinds.OrderCreated() | kinds.OrderChanged():
                self.orders[body.order.order_id] = OrderState(body.order, OrderStatus.ACTIVE)
            case kinds.AdministrationRecorded():
                self.records[entry.id] = _record(entry, body)
            case kinds.EntryVoided():
                self._record(body.target_entry_id, voided=True, void_reason=body.reason,
                             voided_by=str(entry.actor.get("user_id", "")),
                             voided_at=parse_utc(entry.recorded_at))
            case kinds.NoteAmended():
                target = self.records.get(body.target_entry_id)
                if target is not None:
                    amendment = Amendment(entry.id, str(entry.actor.get("user_id", "")),
                                          parse_utc(entry.recorded_at), body.text)
                    self._record(target.entry_id, amendments=(*target.amendments, amendment))
            case _:
                pass

    def _resident(self, resident_id: str, **changes: object) -> None:
        resident = self.residents.get(resident_id)
        if resident is not None:
            self.residents[resident_id] = resident.model_copy(update=changes)

    def _record(self, entry_id: str, **changes: object) -> None:
        record = self.records.get(entry_id)
        if record is not None:
            self.records[entry_id] = replace(record, **changes)  # type: ignore[arg-type]


def _in(moment: datetime | None, since: datetime, until: datetime) -> bool:
    return moment is not None and since <= moment < until


def export_data_from_entries(
    entries: Iterable[Entry],
    *,
    since: datetime,
    until: datetime,
    exported_by: User,
    exported_at: datetime,
) -> ExportData:
    """The :class:`ExportData` of ``[since, until)`` from every ledger entry of the facility
    (``entries``, in stored order). The window's entries are ordered as a tablet orders them
    (recorded_at, device, seq); the administrations kept are those a tablet's export keeps
    (given or scheduled in the window, or recorded in it). Raises NotFound when no entry
    configures the facility, ValidationError for a window without zones or ending first."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationError("The export window needs times with a time zone.")
    if until <= since:
        raise ValidationError("The export window must end after it starts.")
    fold = _Fold()
    start, end = utc_iso(since), utc_iso(until)
    found: list[Entry] = []
    for entry in entries:
        fold.add(entry)
        if start <= entry.recorded_at < end:
            found.append(entry)
    if fold.facility is None:
        raise NotFound("No entry of this facility configures it; nothing to export.")
    found.sort(key=lambda e: (e.recorded_at, e.device_id, e.seq))
    recorded = {e.id for e in found}
    records = {
        key: record
        for key, record in fold.records.items()
        if key in recorded
        or _in(record.administered_at, since, until)
        or _in(record.scheduled_for, since, until)
    }
    return ExportData(
        fold.facility,
        since,
        until,
        exported_by,
        exported_at,
        tuple(found),
        dict(fold.users),
        dict(fold.residents),
        dict(fold.orders),
        records,
    )


__all__: Sequence[str] = ("export_data_from_entries",)
