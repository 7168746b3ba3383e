"""Unit overview: the residents in the signed-in user's scope with their due, late, missed and
PRN-follow-up counts; filter by unit (only units in scope are offered); search by name or room;
a wristband scan jumps straight to the resident.

GUI thread; data comes from ``MarService.unit_overview`` on the worker. Shows PHI (names,
rooms): ``clear_phi()`` empties the table at once. Emits ``open_resident(resident_id,
wristband_scan or "")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.model import Unit
from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.assignment import AssignmentView
from mar_desktop.services.mar import ResidentSummary
from ui.context import UiContext
from ui.errors import describe
from ui.screens.assignment_bar import AssignmentBar
from ui.screens.reads import ScreenRead
from ui.touch import kinetic
from ui.widgets.column_fit import fit_columns, fit_rows
from ui.widgets.common import Banner, button, label
from ui.widgets.scan import ScanField
from ui.widgets.unit_filter import UnitFilter

# two-line headers keep the count columns narrow, so names stay readable on a portrait tablet
COLUMNS = ("Room", "Resident", "Due\nnow", "Late", "Missed\ntoday", "PRN\nfollow-up")
_COLOURS = {2: "#0a2540", 3: "#5a3600", 4: "#7a0016", 5: "#5a3600"}


ROW_HEIGHT = 54  # a resident row: two lines of name, a fingertip high


@dataclass(frozen=True)
class OverviewData:
    units: list[Unit]  # the units in the user's scope
    summaries: list[ResidentSummary]
    all_units: list[Unit]
    assignment: AssignmentView | None = None  # the user's shift assignment in force


def count_text(column: int, value: int) -> str:
    if value == 0:
        return "–"
    glyph, word = {
        2: ("●", "due"),
        3: ("⚠", "late"),
        4: ("✕", "missed"),
        5: ("◷", "follow-up"),
    }[column]
    return f"{glyph} {value} {word}"


class UnitOverview(QWidget):
    open_resident = Signal(str, str)
    emergency_requested = Signal(list)  # the units the user could ask emergency access for

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._summaries: list[ResidentSummary] = []
        self._no_unit = False  # the signed-in account sees no unit
        self._all_units: list[Unit] = []
        self._read = ScreenRead(ctx, self._work, self._loaded, self._failed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.setSpacing(12)
        head = QHBoxLayout()
        head.addWidget(label("Residents", "title"))
        head.addStretch(1)
        self.emergency_button = button("⚠ Emergency access…", "danger", self._ask_emergency)
        self.emergency_button.setObjectName("emergencyAccess")
        head.addWidget(self.emergency_button)
        self.assign_button = button("Assign rooms…", "", self._assign_rooms)
        self.assign_button.setObjectName("assignRooms")
        head.addWidget(self.assign_button)
        self.refresh_button = button("⟳ Refresh", "", self.refresh)
        head.addWidget(self.refresh_button)
        layout.addLayout(head)
        self.assignment = AssignmentBar(ctx, "overviewAssignment")
        self.assignment.changed.connect(self.refresh)
        layout.addWidget(self.assignment)
        self.scan = ScanField("Scan a wristband to open the resident")
        self.scan.setObjectName("overviewScan")
        self.scan.scanned.connect(self.on_scan)
        layout.addWidget(self.scan)
        filters = QHBoxLayout()
        filters.addWidget(label("Unit"))
        self.unit_filter = UnitFilter("unitFilter")
        self.unit_filter.unit_changed.connect(self.refresh)
        filters.addWidget(self.unit_filter)
        filters.addSpacing(20)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search name or room")
        self.search.textChanged.connect(lambda _t: self._fill())
        filters.addWidget(self.search, 1)
        layout.addLayout(filters)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("residentTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # widths: _fit_columns
        header.setMinimumSectionSize(1)
        self.table.viewport().installEventFilter(self)  # its resizes re-fit the columns
        self.table.cellClicked.connect(self._clicked)
        kinetic(self.table)
        layout.addWidget(self.table, 1)

    # ---- data ---------------------------------------------------------------------------------
    def selected_unit(self) -> str | None:
        return self.unit_filter.selected_unit()

    @property
    def read_asked_at(self) -> float:
        """``time.monotonic()`` of the last read asked for (see ``WorkArea.apply_changes``)."""
        return self._read.read_asked_at

    def refresh(self) -> None:
        self.emergency_button.setVisible(self._emergency_possible())
        self.assign_button.setVisible(
            self._ctx.may(Permission.ASSIGN_SHIFTS) and self._ctx.backend.assignments is not None
        )
        self._read.refresh()

    def _work(self) -> Callable[[Principal], OverviewData]:
        unit_id = self.selected_unit()
        backend = self._ctx.backend

        def work(principal: Principal) -> OverviewData:
            units = backend.mar.units()
            visible = backend.mar.units_in_scope(principal)
            summaries = backend.mar.unit_overview(principal, unit_id)
            assignments = backend.assignments
            mine = assignments.mine(principal) if assignments else None
            return OverviewData(visible, summaries, units, mine)

        return work

    def _emergency_possible(self) -> bool:
        principal = self._ctx.principal()
        return (
            principal is not None
            and self._ctx.may(Permission.EMERGENCY_ACCESS)
            and not principal.sees_all_units()
        )

    def _loaded(self, data: OverviewData) -> None:
        self.banner.clear_message()
        self._no_unit = not data.units
        self.unit_filter.set_units(data.units)
        self.assignment.show_view(data.assignment)
        self._all_units = data.all_units
        self._summaries = data.summaries
        self._fill()
        self.scan.setFocus()

    def _failed(self, error: BaseException) -> None:
        self.banner.show_message("error", describe(error).full())

    def unit_names(self) -> list[str]:
        return self.unit_filter.unit_names()

    def visible_summaries(self) -> list[ResidentSummary]:
        needle = self.search.text().strip().lower()
        if not needle:
            return list(self._summaries)
        return [
            s
            for s in self._summaries
            if needle in s.resident.display_name.lower()
            or needle in f"{s.resident.given_name} {s.resident.family_name}".lower()
            or needle in s.resident.room.lower()
        ]

    def _fill(self) -> None:
        rows = self.visible_summaries()
        self.table.setRowCount(len(rows))
        for row, summary in enumerate(rows):
            resident = summary.resident
            values = (
                resident.room,
                resident.display_name,
                count_text(2, summary.due),
                count_text(3, summary.late),
                count_text(4, summary.missed_today),
                count_text(5, summary.followups_due),
            )
            numbers = (0, 0, summary.due, summary.late, summary.missed_today,
                       summary.followups_due)
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, resident.resident_id)
                if col >= 2 and numbers[col]:
                    item.setForeground(QBrush(QColor(_COLOURS[col])))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        if not rows and self._no_unit:  # no unit in scope (Principal.unit_scope)
            self.banner.show_message(
                "warning", "Your account is not assigned to any unit, so no resident is shown. "
                "Ask a facility administrator to assign your units.")
        elif not rows:
            message = "No residents match." if self._summaries else "No residents on this unit."
            self.banner.show_message("info", message)
        self._fit_columns()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return False

    def _fit_columns(self) -> None:
        """The counts as wide as they read, the name the rest, and never a column narrower
        than its header or longest word (a portrait tablet); rows as high as their text."""
        table = self.table
        if table.viewport().width() <= 0:
            return
        wanted = [0 if col == 1 else table.sizeHintForColumn(col)
                  for col in range(table.columnCount())]
        fit_columns(table, wanted, [1])
        fit_rows(table, ROW_HEIGHT)

    def clear_phi(self) -> None:
        self._summaries = []
        self.table.clearContents()
        self.table.setRowCount(0)
        self.search.clear()
        self.scan.clear()
        self.assignment.clear()
        self.banner.clear_message()

    # ---- actions ------------------------------------------------------------------------------
    def _clicked(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.open_resident.emit(str(item.data(Qt.ItemDataRole.UserRole)), "")

    def on_scan(self, text: str) -> None:
        backend = self._ctx.backend
        self.banner.show_message("info", "Looking up the wristband…")
        self._ctx.run(
            lambda p: backend.mar.find_by_wristband(p, text),
            lambda resident: self._scanned(resident.resident_id, text),
            self._failed,
        )

    def _scanned(self, resident_id: str, scan: str) -> None:
        self.banner.clear_message()
        self.open_resident.emit(resident_id, scan)

    def _assign_rooms(self) -> None:
        from ui.screens.assign_rooms import open_assign_rooms

        self.assign_dialog = open_assign_rooms(self._ctx, self)

    def _ask_emergency(self) -> None:
        principal = self._ctx.principal()
        if principal is None:
            return
        now = self._ctx.clock.now()
        outside = [u for u in self._all_units if not principal.may_see_unit(u.unit_id, now)]
        self.emergency_requested.emit(outside)
