"""A titled table for one section of a screen (e.g. "Due now"). Built once, refilled with
rows on every refresh: table items are not widgets, so a refill costs no style polish and the
GUI thread stays responsive. Rows are touch-sized; a tap emits ``activated(payload)``.
Status cells carry glyph + words (never colour alone); voided rows are struck through; a
highlighted row (the dose just signed) is tinted and says so in words.
:meth:`SectionTable.show_under` opens a widget (a row's actions) in a full-width row right
under a row, where the finger is.
Columns are fitted to the table's width whenever it changes (a portrait tablet, a rotated
window): every column at least as wide as its header's words, the status column 190 px when
there is room, the others sharing the rest; then every row is made as high as its wrapped text
needs (at least ``ROW_HEIGHT``), so no header or cell is ever cut off.
The table is as tall as its rows and never scrolls itself: a finger or mouse drag over it
scrolls the screen's kinetic scroll area around it (:func:`ui.touch.kinetic`), and a tap on a
row still activates it. GUI thread only."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.widgets.column_fit import fit_columns, fit_rows
from ui.widgets.common import label

STATUS_COLOURS = {
    "due": ("#0a2540", "#e6effa"),
    "late": ("#5a3600", "#fff1cc"),
    "missed": ("#7a0016", "#fde7ea"),
    "given": ("#0e4a1d", "#e3f4e6"),
    "held": ("#3b1670", "#efe7fa"),
    "neutral": ("#26303a", "#eceff2"),
    "followup": ("#5a3600", "#fff1cc"),
    "outside_scope": ("#4a525a", "#dcdfe3"),  # greyed: not this person's to give
}
HIGHLIGHT = "#fff3b0"  # the row just signed: every cell tinted (its status cell says it too)
ROW_HEIGHT = 56
STATUS_WIDTH = 190  # the status column when the table has room for it


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    style: str = "neutral"  # colours of the first (status) cell
    payload: object = None
    struck: bool = False
    highlight: bool = False


class SectionTable(QWidget):
    activated = Signal(object)

    def __init__(self, title: str, columns: tuple[str, ...], empty: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._rows: list[Row] = []
        self._under: int | None = None  # the row index of the widget opened by show_under
        self._content_columns = False  # stretch_last: middle columns fit their content
        self._fitted_to = -1  # the table width the columns were last fitted to
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(4)
        self.heading = label(title, "section", wrap=True)  # wraps on a portrait tablet
        layout.addWidget(self.heading)
        self.empty: QLabel = label(f"   {empty}", "muted")
        layout.addWidget(self.empty)
        self.table = QTableWidget(0, len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setWordWrap(True)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # widths: _fit_columns
        header.setMinimumSectionSize(1)
        self.table.setColumnWidth(0, STATUS_WIDTH)
        self.table.cellClicked.connect(self._clicked)
        self.table.viewport().installEventFilter(self)  # resized after the table's own resize
        layout.addWidget(self.table)

    def stretch_last(self) -> None:
        """Lets the last column take the spare width and others fit their content."""
        self._content_columns = True
        self._fit_columns(force=True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return False

    def _fit_columns(self, *, force: bool = False) -> None:
        """Sets the column widths for the table's width (see the module docstring), then the
        row heights. Does nothing when the width has not changed, unless ``force``."""
        table = self.table
        room = table.viewport().width()
        if room == self._fitted_to and not force:
            return
        if room <= 0:  # not laid out yet: its first resize fits the columns
            self._fit_rows()
            return
        self._fitted_to = room
        count = table.columnCount()
        wanted = [STATUS_WIDTH] + [0] * (count - 1)
        flexible = [count - 1] if self._content_columns else list(range(1, count))
        if self._content_columns:
            for col in range(1, count - 1):
                wanted[col] = min(table.sizeHintForColumn(col), room * 3 // 10)
        fit_columns(table, wanted, flexible, skip_row=self._under)
        self._fit_rows()

    def _fit_rows(self) -> None:
        """Every row (but the one :meth:`show_under` opened) as high as its wrapped text needs
        at its column's width, with the theme's padding (at least ``ROW_HEIGHT``)."""
        fit_rows(self.table, ROW_HEIGHT, skip_row=self._under)
        self._fit_height()

    def fill(self, rows: list[Row]) -> None:
        """Shows ``rows`` (closing what :meth:`show_under` opened), each row as high as its
        wrapped text needs."""
        self.close_under()
        self._rows = list(rows)
        self.heading.setText(f"{self._title} ({len(rows)})")
        table = self.table
        table.clearSpans()
        table.clearContents()
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row.cells):
                item = QTableWidgetItem(text)
                if row.struck:
                    font = item.font()
                    font.setStrikeOut(True)
                    item.setFont(font)
                if c == 0:
                    fg, bg = STATUS_COLOURS.get(row.style, STATUS_COLOURS["neutral"])
                    item.setForeground(QBrush(QColor(fg)))
                    item.setBackground(QBrush(QColor(bg)))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                elif row.highlight:
                    item.setBackground(QBrush(QColor(HIGHLIGHT)))
                table.setItem(r, c, item)
        self._fit_columns(force=True)  # the new cells' words may need other widths
        table.setVisible(bool(rows))
        self.empty.setVisible(not rows)

    def _fit_height(self) -> None:
        table = self.table
        height = table.horizontalHeader().sizeHint().height() + 4
        height += sum(table.rowHeight(r) for r in range(table.rowCount()))
        table.setFixedHeight(height)
        self.updateGeometry()  # the screen's layout sees the new height at its next activate()

    def _index(self, table_row: int) -> int | None:
        """The index into the rows filled of a table row; None for the opened widget's row."""
        if self._under is not None:
            if table_row == self._under:
                return None
            if table_row > self._under:
                table_row -= 1
        return table_row if 0 <= table_row < len(self._rows) else None

    def selected(self) -> object:
        index = self._index(self.table.currentRow())
        return None if index is None else self._rows[index].payload

    def row_of(self, payload: object) -> int | None:
        """The index of the row filled with ``payload``, None if none."""
        return next((i for i, row in enumerate(self._rows) if row.payload is payload), None)

    def texts(self) -> list[str]:
        return [" ".join(row.cells) for row in self._rows]

    def show_under(self, index: int, widget: QWidget) -> None:
        """Opens ``widget`` in a full-width row right under row ``index`` (closing the one
        opened before); the table takes it and deletes it when it closes."""
        self.close_under()
        if not 0 <= index < len(self._rows):
            widget.deleteLater()
            return
        for part in (widget, *widget.findChildren(QWidget)):
            part.ensurePolished()  # its styled size, for the row's height
        table, at = self.table, index + 1
        table.insertRow(at)
        table.setSpan(at, 0, 1, table.columnCount())
        table.setCellWidget(at, 0, widget)
        # + the cell's padding (6 px above and below, resources/style.qss)
        table.setRowHeight(at, max(ROW_HEIGHT, widget.sizeHint().height() + 12))
        self._under = at
        table.selectRow(index)
        self._fit_height()

    def opened_under(self) -> QWidget | None:
        """The widget :meth:`show_under` opened, None when none is open."""
        return None if self._under is None else self.table.cellWidget(self._under, 0)

    def close_under(self) -> None:
        """Closes (and deletes) the widget :meth:`show_under` opened, if any."""
        if self._under is None:
            return
        at, self._under = self._under, None
        widget = self.table.cellWidget(at, 0)
        if widget is not None:  # gone at once, not at the next event loop turn
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()
        self.table.removeRow(at)
        self._fit_height()

    def _clicked(self, row: int, _col: int) -> None:
        index = self._index(row)
        if index is not None:
            self.activated.emit(self._rows[index].payload)

    def clear(self) -> None:
        self.close_under()
        self._rows = []
        self.table.clearSpans()
        self.table.clearContents()
        self.table.setRowCount(0)
        self.heading.setText(self._title)
