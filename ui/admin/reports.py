"""Print and export: the shift MAR sheet and the monthly MAR (print through the Qt print
dialog, or save as PDF), the surveyor export of a time window into a folder, and FHIR export.

Every render runs on the worker with a progress dialog (:mod:`ui.admin.printing`): the report
use case (``ReportService``: permission check, audit event naming the window and residents)
gathers the data, reportlab renders it. Printing needs ``print_reports``; exports need
``export_facility`` (the export card says so when the role lacks it); the service refuses
either way and its message is shown. Where files go is asked through ``ask_save_path`` /
``ask_folder`` (file dialogs that open in the documents folder, :mod:`ui.admin.save_paths`;
tests replace them). GUI thread.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFrame,
    QGridLayout,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.errors import ValidationError
from mar_desktop.permissions import Permission, Principal
from mar_desktop.reports.shifts import DEFAULT_SHIFTS
from mar_desktop.services.admin_reads import PrintChoices
from ui import theme
from ui.admin.base import AdminScreen
from ui.admin.forms import date_of
from ui.admin.printing import Cancelled, ProgressRunner, paint_pages, rasterise
from ui.admin.save_paths import ask_folder, ask_save_path
from ui.backend import AdminServices
from ui.context import UiContext
from ui.errors import describe
from ui.touch import kinetic
from ui.widgets.common import button, card, label

PAGE_SIZES = (("US Letter, landscape", "letter"), ("A4, landscape", "a4"))


def load_choices(principal: Principal, services: AdminServices) -> PrintChoices:
    """Units and residents the user may print for. Worker thread. Also loads the renderers
    and their fonts here, so the first print does not pay for it."""
    import mar_desktop.reports.monthly
    import mar_desktop.reports.shift_sheet  # noqa: F401
    from mar_desktop.reports.pdfkit import ensure_fonts

    choices = services.reads.print_choices(principal)
    ensure_fonts()
    return choices


def render_shift(principal: Principal, services: AdminServices, out: Path | io.BytesIO, *,
                 unit_id: str, day: date, shift: str, pagesize: str, report: Any) -> int:
    """Gathers (audited) and renders the shift sheet. Worker thread. Returns the page count."""
    from mar_desktop.reports.shift_sheet import render_shift_sheet

    report(0.0, "Reading the records")
    data = services.reports.shift_sheet(principal, unit_id=unit_id, day=day, shift=shift)
    return render_shift_sheet(data, out, pagesize=pagesize, progress=report).pages


def render_month(principal: Principal, services: AdminServices, out: Path | io.BytesIO, *,
                 year: int, month: int, resident_id: str | None, pagesize: str,
                 report: Any) -> int:
    from mar_desktop.reports.monthly import render_monthly_mar

    report(0.0, "Reading the records")
    data = services.reports.monthly_mar(principal, year=year, month=month,
                                        resident_id=resident_id)
    return render_monthly_mar(data, out, pagesize=pagesize, progress=report).pages


def render_compliance(principal: Principal, services: AdminServices,
                      out: Path | io.BytesIO, *, since: datetime, until: datetime,
                      unit_id: str | None, pagesize: str, report: Any) -> int:
    """Gathers (audited, REVIEW_OVERRIDES) and renders the scan compliance and overrides
    report. Worker thread. Returns the page count."""
    from mar_desktop.reports.compliance_pdf import render_compliance as render

    report(0.0, "Reading the records")
    data = services.reports.compliance(principal, since=since, until=until, unit_id=unit_id)
    return render(data, out, pagesize=pagesize, progress=report).pages


def surveyor_export(principal: Principal, services: AdminServices, out_dir: Path,
                    since: datetime, until: datetime, report: Any) -> int:
    """Writes the signed surveyor export of ``[since, until)`` into ``out_dir``. Worker."""
    return services.exports.surveyor_export(principal, out_dir, since=since, until=until,
                                            progress=report).entries


def fhir_export(principal: Principal, services: AdminServices, out_file: Path,
                since: datetime, until: datetime, report: Any) -> int:
    """Writes the FHIR R4 Bundle of ``[since, until)`` to ``out_file``. Worker thread; the
    service checks EXPORT_FACILITY and audits the export."""
    return services.exports.fhir_export(principal, out_file, since=since, until=until,
                                        progress=report)


def _date_edit(fmt: str = "yyyy-MM-dd") -> QDateEdit:
    edit = QDateEdit()
    edit.setDisplayFormat(fmt)
    edit.setCalendarPopup(True)
    edit.setMinimumHeight(48)
    return edit


def _combo(name: str, items: tuple[tuple[str, object], ...] = ()) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setMinimumHeight(48)
    for text, data in items:
        combo.addItem(text, data)
    return combo


class ReportsScreen(AdminScreen):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Print and export",
                         "Every print and export is recorded in the audit log with the time "
                         "window and the residents it contains.", parent)
        self.choices = PrintChoices([], [], "UTC")
        self.last_output: Path | None = None
        self.last_images: list[Any] = []
        grid = QGridLayout()
        grid.setSpacing(14)
        # shift sheet
        shift_card, box = card()
        box.addWidget(label("▤ Shift MAR sheet", "section"))
        self.unit = _combo("shiftUnit")
        self.day = _date_edit()
        self.day.setObjectName("shiftDay")
        self.shift = _combo("shiftName", tuple((s.label, s.name) for s in DEFAULT_SHIFTS))
        self.pagesize = _combo("pageSize", PAGE_SIZES)
        for caption, widget in (("Unit", self.unit), ("Date", self.day), ("Shift", self.shift),
                                ("Paper (both reports)", self.pagesize)):
            box.addWidget(label(caption))
            box.addWidget(widget)
        box.addStretch(1)
        box.addWidget(button("Print…", "primary", self.print_shift, name="printShift"))
        box.addWidget(button("Save as PDF…", "", self.save_shift, name="saveShift"))
        grid.addWidget(shift_card, 0, 0)
        # monthly
        month_card, box = card()
        box.addWidget(label("▦ Monthly MAR", "section"))
        self.month = _date_edit("yyyy-MM")
        self.month.setObjectName("monthlyMonth")
        self.resident = _combo("monthlyResident")
        for caption, widget in (("Month", self.month), ("Resident", self.resident)):
            box.addWidget(label(caption))
            box.addWidget(widget)
        box.addWidget(label("The 31-day grid per resident with the codes legend.", "muted",
                            wrap=True))
        box.addStretch(1)
        box.addWidget(button("Print…", "primary", self.print_month, name="printMonth"))
        box.addWidget(button("Save as PDF…", "", self.save_month, name="saveMonth"))
        grid.addWidget(month_card, 0, 1)
        # exports
        self.export_card, box = card()
        box.addWidget(label("⇩ Surveyor export", "section"))
        box.addWidget(label("Every ledger entry of a time window: a CSV, a readable PDF and a "
                            "signed manifest that `mar-desktop` can check.", "muted", wrap=True))
        self.export_from = _date_edit()
        self.export_from.setObjectName("exportFrom")
        self.export_to = _date_edit()
        self.export_to.setObjectName("exportTo")
        for caption, widget in (("From (start of day)", self.export_from),
                                ("To (end of day, included)", self.export_to)):
            box.addWidget(label(caption))
            box.addWidget(widget)
        box.addStretch(1)
        box.addWidget(button("Export to a folder…", "primary", self.export,
                             name="surveyorExport"))
        grid.addWidget(self.export_card, 0, 2)
        self.fhir_card, box = card()
        box.addWidget(label("⇄ FHIR R4 export", "section"))
        self.fhir_note = label(
            "Patients, medication orders and administrations of the same days as a FHIR R4 "
            "bundle (JSON), for another system or a records request.", "muted", wrap=True)
        self.fhir_note.setObjectName("fhirNote")
        box.addWidget(self.fhir_note)
        self.fhir_button = button("Export FHIR bundle…", "", self.export_fhir, name="fhirExport")
        box.addWidget(self.fhir_button)
        grid.addWidget(self.fhir_card, 1, 2)
        self.export_refused = label("ℹ Exporting the whole facility record needs the surveyor "
                                    "or admin role.", "muted", wrap=True)
        grid.addWidget(self.export_refused, 1, 0, 1, 2)
        self.compliance_card = self._compliance_card()
        grid.addWidget(self.compliance_card, 2, 0, 1, 3)
        self._grid = grid
        self._cards = [(shift_card, 0, 0, 1), (month_card, 0, 1, 1),
                       (self.export_card, 0, 2, 1), (self.fhir_card, 1, 2, 1),
                       (self.export_refused, 1, 0, 2), (self.compliance_card, 2, 0, 3)]
        self._columns = 0
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 8, 0)
        column.addLayout(grid)
        column.addStretch(1)
        scroll = QScrollArea()  # a short landscape screen scrolls instead of squeezing cards
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(holder)
        kinetic(scroll)
        self.outer.addWidget(scroll, 1)
        self._place_cards(3)
        self.progress = ProgressRunner(ctx.runner, self)
        self.outer.insertWidget(self.outer.indexOf(self.banner) + 1, self.progress)
        self.ask_save_path = self._ask_save_path
        self.ask_folder = self._ask_folder
        self.ask_printer = self._ask_printer

    def _compliance_card(self) -> QWidget:
        """Scan compliance and overrides: a unit (or every unit) and a range of days."""
        compliance_card, box = card()
        compliance_card.setObjectName("complianceCard")
        box.addWidget(label("✓ Scan compliance and overrides", "section"))
        box.addWidget(label("Per unit and nurse: doses, scanned wristband and medication, "
                            "warnings accepted, urgent doses on unverified orders.", "muted",
                            wrap=True))
        self.compliance_unit = _combo("complianceUnit")
        self.compliance_from = _date_edit()
        self.compliance_from.setObjectName("complianceFrom")
        self.compliance_to = _date_edit()
        self.compliance_to.setObjectName("complianceTo")
        for caption, widget in (("Unit", self.compliance_unit),
                                ("From (start of day)", self.compliance_from),
                                ("To (end of day, included)", self.compliance_to)):
            box.addWidget(label(caption))
            box.addWidget(widget)
        box.addStretch(1)
        box.addWidget(button("Print…", "primary", self.print_compliance,
                             name="printCompliance"))
        box.addWidget(button("Save as PDF…", "", self.save_compliance, name="saveCompliance"))
        return compliance_card

    def _place_cards(self, columns: int) -> None:
        """Three columns of cards on a wide screen, one under the other on a narrow one
        (a portrait tablet)."""
        if columns == self._columns:
            return
        self._columns = columns
        for widget, row, col, span in self._cards:
            self._grid.removeWidget(widget)
            if columns == 3:
                self._grid.addWidget(widget, row, col, 1, span)
        if columns == 1:
            for index, (widget, *_rest) in enumerate(self._cards):
                self._grid.addWidget(widget, index, 0)
        for col in range(3):
            self._grid.setColumnStretch(col, 1 if col < columns else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._place_cards(3 if self.width() >= theme.NARROW_WIDTH else 1)
        super().resizeEvent(event)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.choices.zone)

    # ---- data ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        may_export = self.ctx.may(Permission.EXPORT_FACILITY)
        self.compliance_card.setVisible(self.ctx.may(Permission.REVIEW_OVERRIDES))
        self.export_card.setVisible(may_export)
        self.fhir_card.setVisible(may_export)
        self.export_refused.setVisible(not may_export)
        self.run(load_choices, self._loaded)

    def _loaded(self, choices: PrintChoices) -> None:
        if self.ctx.principal() is None:
            return
        first = not self.choices.units
        self.choices = choices
        keep = self.unit.currentData()
        self.unit.clear()
        for unit in choices.units:
            self.unit.addItem(unit.name, unit.unit_id)
        self.unit.setCurrentIndex(max(0, self.unit.findData(keep)))
        keep = self.compliance_unit.currentData()
        self.compliance_unit.clear()
        self.compliance_unit.addItem("Every unit I may see", None)
        for unit in choices.units:
            self.compliance_unit.addItem(unit.name, unit.unit_id)
        self.compliance_unit.setCurrentIndex(max(0, self.compliance_unit.findData(keep)))
        keep = self.resident.currentData()
        self.resident.clear()
        self.resident.addItem("Every resident I may see", None)
        for resident in choices.residents:
            self.resident.addItem(f"{resident.display_name} · {resident.room}",
                                  resident.resident_id)
        self.resident.setCurrentIndex(max(0, self.resident.findData(keep)))
        if first:
            today = self.ctx.clock.now().astimezone(self.zone).date()
            qtoday = QDate(today.year, today.month, today.day)
            for edit in (self.day, self.month, self.export_to, self.compliance_to):
                edit.setDate(qtoday)
            self.export_from.setDate(qtoday.addDays(-30))
            self.compliance_from.setDate(qtoday.addDays(-30))

    def clear_phi(self) -> None:
        super().clear_phi()
        self.resident.clear()
        self.last_images = []

    # ---- shift / monthly ------------------------------------------------------------------
    def _shift_args(self) -> dict[str, Any]:
        unit_id = self.unit.currentData()
        if not unit_id:
            raise ValidationError("Choose a unit.")
        return {"unit_id": unit_id, "day": date_of(self.day.date()),
                "shift": self.shift.currentData(), "pagesize": self.pagesize.currentData()}

    def _month_args(self) -> dict[str, Any]:
        when = self.month.date()
        return {"year": when.year(), "month": when.month(),
                "resident_id": self.resident.currentData(),
                "pagesize": self.pagesize.currentData()}

    def _compliance_args(self) -> dict[str, Any]:
        since, until = self._days(self.compliance_from, self.compliance_to)
        if until <= since:
            raise ValidationError("The report must end on or after its first day.")
        return {"since": since, "until": until, "unit_id": self.compliance_unit.currentData(),
                "pagesize": self.pagesize.currentData()}

    def save_compliance(self) -> None:
        self._save(render_compliance, self._compliance_args, "scan-compliance")

    def print_compliance(self) -> None:
        self._print(render_compliance, self._compliance_args, "Scan compliance report")

    def save_shift(self) -> None:
        self._save(render_shift, self._shift_args, "shift-mar")

    def print_shift(self) -> None:
        self._print(render_shift, self._shift_args, "Shift MAR sheet")

    def save_month(self) -> None:
        self._save(render_month, self._month_args, "monthly-mar")

    def print_month(self) -> None:
        self._print(render_month, self._month_args, "Monthly MAR")

    def _start(self, title: str, work: Any, done: Any) -> None:
        principal = self.ctx.principal()
        if principal is None:
            return
        services = self.ctx.backend.admin
        self.banner.clear_message()
        started = self.progress.start(
            title, lambda report: work(principal, services, report),
            done, self._failed)
        if started is None:
            self.banner.show_message("info", "Another print or export is still running.")

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            self.banner.show_message("info", str(error))
        else:
            self.banner.show_message("error", describe(error).full())

    def _save(self, render: Any, args: Any, stem: str) -> None:
        try:
            values = args()
        except ValidationError as bad:
            self.show_error(bad)
            return
        path = self.ask_save_path(f"{stem}.pdf")
        if not path:
            return
        target = Path(path)

        def work(principal: Principal, services: AdminServices, report: Any) -> int:
            try:
                return int(render(principal, services, target, report=report, **values))
            except BaseException:
                target.unlink(missing_ok=True)
                raise

        def done(pages: int) -> None:
            self.last_output = target
            self.banner.show_message("ok", f"Saved {target.name} ({pages} pages).")

        self._start("Rendering the PDF", work, done)

    def _print(self, render: Any, args: Any, title: str) -> None:
        try:
            values = args()
        except ValidationError as bad:
            self.show_error(bad)
            return

        def work(principal: Principal, services: AdminServices, report: Any) -> list[Any]:
            buffer = io.BytesIO()

            def scaled(fraction: float, text: str) -> None:
                report(0.8 * fraction, text)

            render(principal, services, buffer, report=scaled, **values)
            return rasterise(buffer.getvalue(), report=report)

        self._start(f"Preparing the {title}", work, lambda images: self._to_printer(
            images, title))

    def _to_printer(self, images: list[Any], title: str) -> None:
        self.last_images = images
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(title)
        from PySide6.QtGui import QPageLayout

        printer.setPageOrientation(QPageLayout.Orientation.Landscape)
        self.ask_printer(printer, lambda: self._paint(printer, images, title))

    def _paint(self, printer: QPrinter, images: list[Any], title: str) -> None:
        try:
            paint_pages(printer, images)
        except Exception as error:  # shown through the one error place
            self.show_error(error)
            return
        finally:
            self.last_images = []
        self.banner.show_message("ok", f"{title}: {len(images)} pages sent to the printer.")

    # ---- exports ----------------------------------------------------------------------------
    def _window(self) -> tuple[datetime, datetime]:
        return self._days(self.export_from, self.export_to)

    def _days(self, first: QDateEdit, last: QDateEdit) -> tuple[datetime, datetime]:
        """From the start of ``first``'s day to the end of ``last``'s, in the facility's zone."""
        start, end = date_of(first.date()), date_of(last.date())
        since = datetime(start.year, start.month, start.day, tzinfo=self.zone)
        until = datetime(end.year, end.month, end.day, tzinfo=self.zone) + timedelta(days=1)
        return since, until

    def export(self) -> None:
        self._export_window("mar-export", "", "Writing the surveyor export", surveyor_export,
                            lambda count, target: f"Exported {count} entries to {target}.")

    def export_fhir(self) -> None:
        self._export_window("mar-fhir", ".json", "Writing the FHIR bundle", fhir_export,
                            lambda _count, target: f"Wrote the FHIR bundle to {target}.")

    def _export_window(self, prefix: str, suffix: str, title: str, write: Any,
                       message: Any) -> None:
        """Asks for a folder, then runs ``write(principal, services, target, since, until,
        report)`` on the worker for the chosen days; ``message(count, target)`` when done."""
        since, until = self._window()
        if until <= since:
            self.show_error(ValidationError("The export must end on or after its first day."))
            return
        folder = self.ask_folder()
        if not folder:
            return
        stamp = self.ctx.clock.now().astimezone(self.zone).strftime("%Y%m%d-%H%M%S")
        target = Path(folder) / f"{prefix}-{since:%Y%m%d}-{until:%Y%m%d}-{stamp}{suffix}"

        def done(count: int) -> None:
            self.last_output = target
            self.banner.show_message("ok", message(count, target))

        self._start(title, lambda p, s, report: write(p, s, target, since, until, report), done)

    # ---- where to put things (replaceable in tests) -------------------------------------------
    def _ask_save_path(self, suggested: str) -> str | None:
        return ask_save_path(self, "Save as PDF", suggested, "PDF files (*.pdf)")

    def _ask_folder(self) -> str | None:
        return ask_folder(self, "Choose a folder for the export")

    def _ask_printer(self, printer: QPrinter, go: Any) -> None:
        dialog = QPrintDialog(printer, self)
        dialog.setObjectName("printDialog")
        dialog.accepted.connect(go)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.show()  # not exec(): no nested event loop; the lock screen rejects it
