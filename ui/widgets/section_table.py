"""A titled table for one section of a screen (e.g. "Due now"). Built once, refilled with
rows on every refresh: table items are not widgets, so a refill costs no style polish and the
GUI thread stays responsive. Rows are touch-sized; a tap emits ``activated(payload)``.
Status cells carry glyph + words (never colour alone); voided rows are struck through.
The table is as tall as its rows and never scrolls itself: a finger or mouse drag over it
scrolls the screen's kinetic scroll area around it (:func:`ui.touch.kinetic`), and a tap on a
row still activates it. GUI thread only."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
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
ROW_HEIGHT = 56


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    style: str = "neutral"  # colours of the first (status) cell
    payload: object = None
    struck: bool = False


class SectionTable(QWidget):
    activated = Signal(object)

    def __init__(self, title: str, columns: tuple[str, ...], empty: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._rows: list[Row] = []
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
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(0, 190)
        self.table.cellClicked.connect(self._clicked)
        layout.addWidget(self.table)

    def stretch_last(self) -> None:
        """Lets the last column take the spare width and others fit their content."""
        header = self.table.horizontalHeader()
        for col in range(1, self.table.columnCount() - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)

    def fill(self, rows: list[Row], *, tall: bool = False) -> None:
        self._rows = rows
        self.heading.setText(f"{self._title} ({len(rows)})")
        table = self.table
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
                table.setItem(r, c, item)
        if tall:
            table.resizeRowsToContents()
            for r in range(len(rows)):
                table.setRowHeight(r, max(ROW_HEIGHT, table.rowHeight(r)))
        else:
            for r in range(len(rows)):
                table.setRowHeight(r, ROW_HEIGHT)
        height = table.horizontalHeader().sizeHint().height() + 4
        height += sum(table.rowHeight(r) for r in range(len(rows)))
        table.setFixedHeight(height)
        table.setVisible(bool(rows))
        self.empty.setVisible(not rows)

    def selected(self) -> object:
        row = self.table.currentRow()
        return self._rows[row].payload if 0 <= row < len(self._rows) else None

    def texts(self) -> list[str]:
        return [" ".join(row.cells) for row in self._rows]

    def _clicked(self, row: int, _col: int) -> None:
        if 0 <= row < len(self._rows):
            self.activated.emit(self._rows[row].payload)

    def clear(self) -> None:
        self._rows = []
        self.table.clearContents()
        self.table.setRowCount(0)
        self.heading.setText(self._title)
