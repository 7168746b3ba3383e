"""The unit's med pass: every scheduled dose of the current pass for the nurse's units, late
first, then due now, then coming up in the next hour, each in room order, with how many are done;
tapping a dose opens that resident's MAR and the dose (``open_dose``).

GUI thread; data comes from ``MarService.pass_list`` on the worker
(:mod:`mar_desktop.services.pass_list`). Re-read when shown, when the unit changes, and when a
change (recorded here or pulled by sync) touches a resident (``WorkArea.apply_changes``). Shows
PHI (names, rooms, medications): ``clear_phi()`` empties it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.model import DoseStatus, Facility, Unit
from mar_desktop.permissions import Principal
from mar_desktop.services.assignment import AssignmentView
from mar_desktop.services.pass_list import PassItem, PassList
from ui.context import UiContext
from ui.errors import describe
from ui.screens.assignment_bar import AssignmentBar
from ui.screens.mar_words import hhmm, order_line, order_title
from ui.screens.reads import ScreenRead
from ui.touch import kinetic
from ui.widgets.column_fit import fit_columns, fit_uniform_rows
from ui.widgets.common import Banner, button, label
from ui.widgets.unit_filter import UnitFilter

COLUMNS = ("Time", "Room", "Resident", "Medication", "Status")
COLUMN_WIDTHS = (76, 76, 0, 0, 0)  # time and room (status: its words); name and drug share
ROW_HEIGHT = 64  # at least two lines: the drug, then the dose
_ROOT = QModelIndex()
STATUS_WORDS = {
    DoseStatus.LATE: ("⚠ LATE", "#7a0016"),
    DoseStatus.DUE: ("● Due now", "#0a2540"),
    DoseStatus.UPCOMING: ("◷ Coming up", "#4a5561"),
}


@dataclass(frozen=True)
class PassData:
    units: list[Unit]  # the units in the user's scope
    facility: Facility
    found: PassList
    assignment: AssignmentView | None = None  # the user's shift assignment in force


def summary_text(found: PassList) -> str:
    """The pass in one line: what is left, by state, and what is done."""
    parts = [
        f"⚠ {found.count(DoseStatus.LATE)} late",
        f"● {found.count(DoseStatus.DUE)} due now",
        f"◷ {found.count(DoseStatus.UPCOMING)} in the next hour",
        f"✓ {found.done} done",
    ]
    if found.missed:
        parts.append(f"✕ {found.missed} missed")
    return "   ·   ".join(parts)


class PassModel(QAbstractTableModel):
    """The doses of the pass as table rows; each cell's text is made when Qt asks for it, so
    showing a pass costs the same for 20 doses or 300 (only the visible rows are drawn)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[PassItem] = []
        self._zone: ZoneInfo | None = None

    def show_items(self, items: list[PassItem], zone: ZoneInfo | None) -> None:
        self.beginResetModel()
        self._items, self._zone = items, zone
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or self._zone is None:
            return None
        item, column = self._items[index.row()], index.column()
        status = item.dose.status
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(item, column, self._zone)
        if role == Qt.ItemDataRole.ForegroundRole and (column == 4 or status is DoseStatus.LATE):
            return QBrush(QColor(STATUS_WORDS[status][1]))
        if role == Qt.ItemDataRole.FontRole and column == 4 and status is not DoseStatus.UPCOMING:
            font = QFont()
            font.setBold(True)
            return font
        return None


def cell_text(item: PassItem, column: int, zone: ZoneInfo) -> str:
    if column == 0:
        return hhmm(item.dose.scheduled_for, zone)
    if column == 1:
        return item.resident.room
    if column == 2:
        return item.resident.display_name
    if column == 3:
        title = order_title(item.order)
        if item.awaiting_verification:
            title = f"⚠ Awaiting verification · {title}"
        return f"{title}\n{order_line(item.order)}"
    return STATUS_WORDS[item.dose.status][0]


class PassListScreen(QWidget):
    open_dose = Signal(str, str, object)  # resident id, order id, scheduled_for (datetime)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.items: list[PassItem] = []
        """The doses on show, in the table's order."""
        self.found: PassList | None = None
        """The last pass read (counts included); None before the first read or after a lock."""
        self._read = ScreenRead(ctx, self._work, self._loaded, self._failed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.setSpacing(12)
        head = QHBoxLayout()
        head.addWidget(label("Med pass", "title"))
        head.addStretch(1)
        self.unit_filter = UnitFilter("passUnitFilter")
        self.unit_filter.unit_changed.connect(self.refresh)
        head.addWidget(self.unit_filter)
        head.addWidget(button("⟳ Refresh", "", self.refresh, name="passRefresh"))
        layout.addLayout(head)
        self.assignment = AssignmentBar(ctx, "passAssignment")
        self.assignment.changed.connect(self.refresh)
        layout.addWidget(self.assignment)
        self.summary = label("", "section", wrap=True)
        self.summary.setObjectName("passSummary")
        layout.addWidget(self.summary)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.model = PassModel(self)
        self.table = QTableView()
        self.table.setObjectName("passTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(True)
        # Narrow columns for time, room and status; the name and the medication share the
        # rest and wrap, so the pass never scrolls sideways, even on a portrait tablet, and
        # every row is as high as the longest medication needs (_fit_table).
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setMinimumSectionSize(1)
        self.table.viewport().installEventFilter(self)  # a scroll bar coming narrows it
        self.table.clicked.connect(self._clicked)
        kinetic(self.table)
        layout.addWidget(self.table, 1)

    # ---- data ---------------------------------------------------------------------------------
    @property
    def read_asked_at(self) -> float:
        """``time.monotonic()`` of the last read asked for (see ``WorkArea.apply_changes``)."""
        return self._read.read_asked_at

    def refresh(self) -> None:
        """Reads the pass of the chosen unit on the worker (:class:`ScreenRead`)."""
        self._read.refresh()

    def _work(self) -> Callable[[Principal], PassData]:
        unit_id = self.unit_filter.selected_unit()
        backend = self._ctx.backend

        def work(principal: Principal) -> PassData:
            assignments = backend.assignments
            return PassData(backend.mar.units_in_scope(principal), backend.mar.facility(),
                            backend.mar.pass_list(principal, unit_id),
                            assignments.mine(principal) if assignments else None)

        return work

    def _loaded(self, data: PassData) -> None:
        self.banner.clear_message()
        self.unit_filter.set_units(data.units)
        self.assignment.show_view(data.assignment)
        self.items = list(data.found.items)
        self.found = data.found
        self.summary.setText(summary_text(data.found))
        self._fill(data.facility)
        if not self.items:
            self.banner.show_message("ok", "Nothing due in this pass. Every dose is documented.")

    def _failed(self, error: BaseException) -> None:
        self.banner.show_message("error", describe(error).full())

    def _fill(self, facility: Facility) -> None:
        self.model.show_items(self.items, facility.zone)
        self._fit_table()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_table()
        return False

    def _fit_table(self) -> None:
        """Column widths for the table's width (no column narrower than its header or its
        longest word), then one row height that shows every row's text whole."""
        if self.table.viewport().width() <= 0:
            return
        wanted = list(COLUMN_WIDTHS)
        wanted[4] = self.table.sizeHintForColumn(4)  # the status as wide as it reads
        fit_columns(self.table, wanted, [2, 3])
        fit_uniform_rows(self.table, ROW_HEIGHT)

    def rows(self) -> list[tuple[str, ...]]:
        """The table's text, row by row (what the nurse reads)."""
        model = self.model
        return [
            tuple(str(model.data(model.index(r, c))) for c in range(len(COLUMNS)))
            for r in range(model.rowCount())
        ]

    def clear_phi(self) -> None:
        self.items = []
        self.found = None
        self.model.show_items([], None)
        self.summary.clear()
        self.assignment.clear()
        self.banner.clear_message()

    # ---- actions ------------------------------------------------------------------------------
    def _clicked(self, index: QModelIndex) -> None:
        row = index.row()
        if 0 <= row < len(self.items):
            item = self.items[row]
            scheduled: datetime = item.dose.scheduled_for
            self.open_dose.emit(item.resident.resident_id, item.order.order_id, scheduled)
