"""Who saw this resident (facility admins, surveyors: ``view_audit``): pick a resident and the
days, see every view, print, export, dose and change of their record this tablet holds, with
the sign-ins of the people involved, oldest first; export it as CSV or PDF with a signed
manifest into a new folder in the documents folder (``mar-desktop check-export`` checks it).

What it holds: the facility's whole ledger (every tablet's doses and changes) and this
tablet's own audit chain; the views and sign-ins on other tablets and the server's view (IP
addresses) are in ``mar-server access-report``, which the intro says.

Every read and export runs on the worker through ``AdminServices.access`` (which checks the
permission and audits the report itself). Shows PHI: ``clear_phi()`` empties it. GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QTableWidgetItem,
    QWidget,
)

from mar_desktop.access_report import ACTIONS, AccessReport, AccessRow
from mar_desktop.clock import parse_utc
from mar_desktop.errors import NotFound, ValidationError
from mar_desktop.permissions import Principal
from mar_desktop.services.access_report import AccessReportService
from mar_desktop.services.admin_reads import AuditChoices
from ui.admin.base import AdminScreen, fit_columns, table
from ui.admin.forms import captioned, date_of
from ui.admin.save_paths import documents_folder
from ui.backend import AdminServices
from ui.context import UiContext
from ui.widgets.common import button, card, label

COLUMNS = ("When", "Who", "Device · IP", "Action", "What")
FORMATS = (("CSV (spreadsheet)", "csv"), ("PDF (to read or print)", "pdf"))
DEFAULT_DAYS = 7


def load_choices(principal: Principal, services: AdminServices) -> AuditChoices:
    return services.reads.audit_choices(principal)


def _access(services: AdminServices) -> AccessReportService:
    if services.access is None:
        raise NotFound("The access report is not available on this tablet.")
    return services.access


def load_report(services: AdminServices, principal: Principal, resident_id: str,
                since: datetime, until: datetime) -> AccessReport:
    """Worker thread: the report (audited as a view of the resident)."""
    return _access(services).report(principal, resident_id, since, until)


def export_report(services: AdminServices, principal: Principal, resident_id: str,
                  since: datetime, until: datetime, kind: str, folder: Path) -> int:
    """Worker thread: the report's files and signed manifest into ``folder``."""
    return int(_access(services).export(principal, resident_id, since, until,
                                        "pdf" if kind == "pdf" else "csv", folder))


class AccessReportScreen(AdminScreen):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Who saw this resident",
                         "Every view, print, export, dose and change of one resident's record "
                         "that this tablet holds, with the sign-ins of the people involved. "
                         "Other tablets' views and the IP addresses the server saw: "
                         "mar-server access-report. Running this report is itself recorded.",
                         parent)
        self.choices = AuditChoices([], [], "UTC")
        self.report: AccessReport | None = None
        self.last_export: Path | None = None
        self.documents: Callable[[], Path] = documents_folder
        filters, box = card()
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(8)
        self.resident = QComboBox()
        self.resident.setObjectName("accessResident")
        self.resident.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.resident.setMinimumContentsLength(12)
        self.since = QDateEdit()
        self.since.setObjectName("accessFrom")
        self.until = QDateEdit()
        self.until.setObjectName("accessTo")
        self.format = QComboBox()
        self.format.setObjectName("accessFormat")
        for text, value in FORMATS:
            self.format.addItem(text, value)
        for edit in (self.since, self.until):
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setCalendarPopup(True)
        for widget in (self.resident, self.since, self.until, self.format):
            widget.setMinimumHeight(48)
        self.show_button = button("⌕ Show", "primary", self.show_report, name="accessShow")
        self.export_button = button("⇩ Export…", "", self.export, name="accessExport")
        self.export_button.setEnabled(False)
        self._parts = [captioned("Resident", self.resident),
                       captioned("From (start of day)", self.since),
                       captioned("To (end of day, included)", self.until),
                       captioned("Export as", self.format)]
        self._grid = grid
        self._columns = 0
        self._place(4)
        box.addLayout(grid)
        actions = QHBoxLayout()  # under the choices: the header keeps room on a portrait tablet
        actions.addStretch(1)
        actions.addWidget(self.show_button)
        actions.addWidget(self.export_button)
        box.addLayout(actions)
        self.outer.addWidget(filters)
        self.summary = label("", "muted", wrap=True)
        self.summary.setObjectName("accessSummary")
        self.outer.addWidget(self.summary)
        self.table = table(COLUMNS, "accessTable")
        self.fitter = fit_columns(self.table)
        self.outer.addWidget(self.table, 1)
        self._set_days()

    # ---- layout -------------------------------------------------------------------------------
    def _place(self, columns: int) -> None:
        """The four choices in a row on a wide screen, two by two on a portrait tablet."""
        if columns == self._columns:
            return
        self._columns = columns
        for part in self._parts:
            self._grid.removeWidget(part)
        for index, part in enumerate(self._parts):
            self._grid.addWidget(part, index // columns, index % columns)
        for column in range(4):  # the resident's name gets the most room
            self._grid.setColumnStretch(column, (2 if column == 0 else 1) if column < columns
                                        else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._place(4 if self.width() >= 1000 else 2)
        super().resizeEvent(event)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.choices.zone)

    def _set_days(self) -> None:
        today = self.ctx.clock.now().astimezone(self.zone).date()
        start = today - timedelta(days=DEFAULT_DAYS - 1)
        self.since.setDate(QDate(start.year, start.month, start.day))
        self.until.setDate(QDate(today.year, today.month, today.day))

    def chosen_window(self) -> tuple[datetime, datetime]:
        """The chosen days as ``[since, until)`` in the facility's zone (GUI thread, no I/O)."""
        start, end = date_of(self.since.date()), date_of(self.until.date())
        since = datetime(start.year, start.month, start.day, tzinfo=self.zone)
        until = datetime(end.year, end.month, end.day, tzinfo=self.zone) + timedelta(days=1)
        return since, until

    # ---- loading ------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.run(load_choices, self._choices_loaded)

    def _choices_loaded(self, choices: AuditChoices) -> None:
        first = not self.choices.residents
        self.choices = choices
        keep = self.resident.currentData()
        self.resident.clear()
        for key, text in choices.residents:
            self.resident.addItem(text, key)
        self.resident.setCurrentIndex(max(0, self.resident.findData(keep)))
        if first:
            self._set_days()

    def _chosen(self) -> tuple[str, datetime, datetime] | None:
        resident_id = self.resident.currentData()
        since, until = self.chosen_window()
        if not resident_id:
            self.show_error(ValidationError("Choose a resident."))
            return None
        if until <= since:
            self.show_error(ValidationError("The last day must be on or after the first."))
            return None
        return str(resident_id), since, until

    def show_report(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        resident_id, since, until = chosen
        self.show_button.setEnabled(False)

        def done(report: AccessReport) -> None:
            self.show_button.setEnabled(True)
            self._show(report)

        def failed(error: BaseException) -> None:
            self.show_button.setEnabled(True)
            self.show_error(error)

        self.run(lambda p, s: load_report(s, p, resident_id, since, until), done, failed)

    def _show(self, report: AccessReport) -> None:
        if self.ctx.principal() is None:
            return
        self.banner.clear_message()
        self.report = report
        self.table.setRowCount(len(report.rows))
        for index, row in enumerate(report.rows):
            for column, text in enumerate(self.cells(row)):
                self.table.setItem(index, column, QTableWidgetItem(text))
        self.fitter.fit()
        counts = [f"{report.count(a)} {a}" for a in ACTIONS if report.count(a)]
        self.summary.setText(f"{len(report.rows)} accesses: " + ", ".join(counts)
                             if report.rows else "")
        if not report.rows:
            self.banner.show_message("info", "Nothing on this tablet touched this resident's "
                                     "record in these days.")
        self.export_button.setEnabled(True)

    def cells(self, row: AccessRow) -> tuple[str, ...]:
        """One row in words (the facility's time)."""
        when = parse_utc(row.at).astimezone(self.zone).strftime("%Y-%m-%d\n%H:%M:%S")
        who = f"{row.person}\n{row.role}" if row.role else row.person
        device = f"{row.device}\n{row.ip}" if row.ip else row.device
        return when, who, device, row.action, row.what

    # ---- export -------------------------------------------------------------------------------
    def export(self) -> None:
        """Writes the chosen report into a new folder of the documents folder."""
        chosen = self._chosen()
        if chosen is None:
            return
        resident_id, since, until = chosen
        kind = str(self.format.currentData())
        stamp = self.ctx.clock.now().astimezone(self.zone).strftime("%Y%m%d-%H%M%S")
        target = self.documents() / f"access-report-{since:%Y%m%d}-{until:%Y%m%d}-{stamp}"
        self.export_button.setEnabled(False)

        def done(count: int) -> None:
            self.export_button.setEnabled(True)
            self.last_export = target
            self.banner.show_message("ok", f"Exported {count} accesses ({kind.upper()}, signed "
                                     f"manifest) to {target}.")

        def failed(error: BaseException) -> None:
            self.export_button.setEnabled(True)
            self.show_error(error)

        self.run(lambda p, s: export_report(s, p, resident_id, since, until, kind, target),
                 done, failed)

    def clear_phi(self) -> None:
        super().clear_phi()
        self.report = None
        self.table.clearContents()
        self.table.setRowCount(0)
        self.summary.setText("")
        self.resident.clear()
        self.export_button.setEnabled(False)
        self.choices = AuditChoices([], [], self.choices.zone)
