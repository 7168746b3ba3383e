"""Who saw this resident, on the tablet: the access report of what this tablet holds — the
facility's whole ledger (every tablet's doses and changes) and its OWN audit chain (views,
prints, exports and sign-ins on this tablet; other tablets' audit chains and the server's
audit are in ``mar-server access-report``). See :mod:`mar_desktop.access_report`.

Needs ``view_audit`` (a refusal is audited and nothing is read); the report is itself audited
as ``audit_viewed`` of the resident, and an export, which also needs ``export_facility``, as
``exported`` of the resident once its files are written (so a later report lists both). Worker
thread. Raises PermissionDenied, NotFound (no such resident), ValidationError (window, format,
folder in use), HistoryNotHeld (a window this tablet does not hold the whole ledger of yet),
StorageError, OSError.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mar_desktop import audit
from mar_desktop.access_report import AccessReport, build_access_report, check_window
from mar_desktop.canonical import canonical_bytes
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry
from mar_desktop.model import Resident
from mar_desktop.permissions import Permission, Principal
from mar_desktop.reports.gather import _require_history
from mar_desktop.services.base import Ports, Service
from mar_desktop.signing import DeviceSigner

if TYPE_CHECKING:  # reportlab loads with the first export, not with the app
    from mar_desktop.reports.access_export import Kind


class AccessEntries(Protocol):
    """What the report reads beyond the read model (``storage.access_queries``)."""

    def ledger_mentioning(self, needle: bytes) -> list[Entry]: ...

    def entries_between(self, since: datetime, until: datetime) -> list[Entry]: ...

    def device_labels(self) -> dict[str, str]: ...

    def device_signer(self) -> tuple[str, DeviceSigner]: ...

    def close(self) -> None: ...


class AccessReportService(Service):
    """See the module docstring. ``open_entries`` opens an :class:`AccessEntries` on the
    calling (worker) thread; it is closed after each call."""

    def __init__(self, ports: Ports, open_entries: Callable[[], AccessEntries]) -> None:
        super().__init__(ports)
        self._open = open_entries

    def report(
        self, principal: Principal, resident_id: str, since: datetime, until: datetime
    ) -> AccessReport:
        """The rows this tablet holds about ``resident_id`` in ``[since, until)``."""
        self._require(principal, Permission.VIEW_AUDIT, entity_type="resident",
                      entity_id=resident_id)
        found, _resident = self._build(principal, resident_id, since, until)
        self._append([audit.audit_for(
            principal, audit.AUDIT_VIEWED, entity_type="resident", entity_id=resident_id,
            detail=f"access report {_window(since, until)}, {len(found.rows)} rows",
        )])
        return found

    def export(
        self,
        principal: Principal,
        resident_id: str,
        since: datetime,
        until: datetime,
        kind: Kind,
        out_dir: Path,
    ) -> int:
        """Writes the report as CSV or PDF into ``out_dir`` (new or empty) with a manifest
        signed by this device's key (``mar-desktop check-export`` verifies it); returns the
        row count."""
        from mar_desktop.reports.access_export import write_access_export

        self._require(principal, Permission.VIEW_AUDIT, entity_type="resident",
                      entity_id=resident_id)
        self._require(principal, Permission.EXPORT_FACILITY, entity_type="resident",
                      entity_id=resident_id)
        found, resident = self._build(principal, resident_id, since, until)
        facility = self._facility()
        source = self._open()
        try:
            device_id, signer = source.device_signer()
        finally:
            source.close()
        user = principal.user
        write_access_export(
            found, out_dir, kind=kind, signer=signer, device_id=device_id,
            facility_id=facility.facility_id, facility_name=facility.name,
            resident_name=f"{resident.room} {resident.family_name.upper()}, "
            f"{resident.given_name}",
            zone=facility.zone,
            exported_by={"user_id": user.user_id, "name": user.full_name,
                         "role": user.role.value},
            exported_at=self._clock.now(),
        )
        self._append([audit.audit_for(
            principal, audit.EXPORTED, entity_type="resident", entity_id=resident_id,
            after={"report": "access_report", "resident_ids": [resident_id],
                   "from": utc_iso(since), "to": utc_iso(until), "format": kind},
            detail=f"access report {kind} {out_dir.name}: {_window(since, until)}, "
            f"{len(found.rows)} rows",
        )])
        return len(found.rows)

    def _build(
        self, principal: Principal, resident_id: str, since: datetime, until: datetime
    ) -> tuple[AccessReport, Resident]:
        check_window(since, until)
        # the resident's unit too: a role that reads the audit of some units only never
        # reads another unit's resident (refusal audited); NotFound after view_audit only
        resident = self._resident_in_scope(principal, resident_id, Permission.VIEW_AUDIT)
        read = self._read
        _require_history(read, since)  # a report with doses silently missing would mislead
        names = {u.user_id: u.full_name for u in read.users(include_inactive=True)}
        source = self._open()
        try:
            mentions = source.ledger_mentioning(canonical_bytes(resident_id))
            window = source.entries_between(since, until)
            devices = source.device_labels()
        finally:
            source.close()
        found = build_access_report(resident_id, since, until, mentions=mentions,
                                    window=window, names=names, devices=devices)
        return found, resident


def _window(since: datetime, until: datetime) -> str:
    return f"{utc_iso(since)} to {utc_iso(until)}"
