"""The facility exports, start to finish: the surveyor export (CSV, PDF, signed manifest) and the
FHIR R4 Bundle of a time window. One path for the admin screen and the command line.

:class:`ReportService.export_data` checks ``export_facility`` (a refusal is audited and nothing
is written) and appends the export's audit entry; only then are the files written, owner-only
(:mod:`mar_desktop.private_files`). The ledger is read through an :class:`ExportLedger` opened
for the one export and closed after it.

Thread: worker only (reads the database, writes files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from mar_desktop.permissions import Principal
from mar_desktop.reports.data import Progress, no_progress
from mar_desktop.reports.gather import EntrySource, ReportService
from mar_desktop.signing import DeviceSigner


class ExportLedger(EntrySource, Protocol):
    """The ledger as an export reads it (``storage.report_queries.ReportQueries``)."""

    def verification_summary(self) -> str:
        """Verifies both chains; the one-line summary written into the manifest."""
        ...

    def device_signer(self) -> tuple[str, DeviceSigner]:
        """This device's id and signing key (signs the manifest)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SurveyorExport:
    """What was written: the number of ledger entries and the verification summary."""

    entries: int
    verification: str


class ExportService:
    """See the module docstring. ``open_ledger`` opens a new :class:`ExportLedger` on the
    calling (worker) thread."""

    def __init__(self, reports: ReportService, open_ledger: Callable[[], ExportLedger]) -> None:
        self._reports = reports
        self._open_ledger = open_ledger

    def surveyor_export(
        self,
        principal: Principal,
        out_dir: Path,
        *,
        since: datetime,
        until: datetime,
        pagesize: str = "letter",
        progress: Progress = no_progress,
    ) -> SurveyorExport:
        """Writes the signed surveyor export of ``[since, until)`` into ``out_dir`` (must be
        absent or empty). Raises PermissionDenied (audited), ValidationError for a bad window or
        a folder in use, StorageError for database trouble."""
        from mar_desktop.reports.export import write_surveyor_export

        progress(0.0, "Reading the ledger")
        ledger = self._open_ledger()
        try:
            data = self._reports.export_data(
                principal, since=since, until=until, entries=ledger, report="surveyor_export"
            )
            progress(0.05, "Verifying the ledger")
            verification = ledger.verification_summary()
            device_id, signer = ledger.device_signer()
        finally:
            ledger.close()
        manifest = write_surveyor_export(
            data,
            out_dir,
            signer=signer,
            device_id=device_id,
            verification=verification,
            pagesize=pagesize,
            progress=progress,
        )
        return SurveyorExport(int(manifest["entries"]), verification)

    def fhir_export(
        self,
        principal: Principal,
        out_file: Path,
        *,
        since: datetime,
        until: datetime,
        progress: Progress = no_progress,
    ) -> int:
        """Writes the FHIR R4 Bundle of ``[since, until)`` to ``out_file`` and returns the number
        of administrations in it. Raises as :meth:`surveyor_export`."""
        from mar_desktop.private_files import write_private
        from mar_desktop.reports.fhir_export import fhir_bundle_json

        progress(0.0, "Reading the ledger")
        ledger = self._open_ledger()
        try:
            data = self._reports.export_data(
                principal, since=since, until=until, entries=ledger, report="fhir_export"
            )
        finally:
            ledger.close()
        progress(0.6, "Writing the FHIR bundle")
        write_private(out_file, fhir_bundle_json(data))
        return len(data.records)
