"""Column widths and row heights for a table that must never cut a header or a cell: fitted to
the table's width whenever it changes (a portrait tablet, a rotated window).

:func:`fit_columns`: every column at least as wide as its header's longest line and its cells'
longest word (a column narrower cuts them: "Jorgens…"); the columns the caller wants wider get
their width when there is room, giving back down to that least width, the widest first, when
there is not; the flexible columns get their least width and equal shares of what is left.
:func:`fit_rows`: every row as high as its wrapped text needs at its column's width. Both
measure with the theme's paddings (resources/style.qss), as ``tests/ui/layout_checks.py``
checks them. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QTableView

HEADER_PADDING = 2 * 8 + 2  # the theme's header padding, and its border
CELL_PADDING = 2 * (6 + 3) + 2  # the theme's item padding, the text margin, a pixel each side
ROW_PADDING = 2 * 6 + 4  # the item padding above and below, and a margin


def header_width(table: QTableView, col: int) -> int:
    """The width ``col``'s header needs (bold, as the theme draws it)."""
    model = table.model()
    font = QFont(table.horizontalHeader().font())
    font.setBold(True)
    metrics = QFontMetrics(font)
    head = model.headerData(col, Qt.Orientation.Horizontal) if model is not None else None
    text = str(head) if head is not None else ""
    return max(metrics.horizontalAdvance(line) for line in text.split("\n")) + HEADER_PADDING


def _cell(table: QTableView, row: int, col: int) -> tuple[str, list[QFontMetrics]]:
    """A cell's text, with the table's font metrics and the cell's own when it has one
    (bold, struck out)."""
    model = table.model()
    index = model.index(row, col)
    text = model.data(index, Qt.ItemDataRole.DisplayRole)
    own = model.data(index, Qt.ItemDataRole.FontRole)
    base = table.fontMetrics()
    return ("" if text is None else str(text),
            [base] if not isinstance(own, QFont) else [base, QFontMetrics(own)])


def _rows(table: QTableView) -> int:
    model = table.model()
    return model.rowCount() if model is not None else 0


def longest_word(table: QTableView, col: int, skip_row: int | None = None) -> int:
    """The width the longest word of ``col``'s cells needs (0 for no text)."""
    widest = 0
    seen: set[tuple[str, int]] = set()  # a long list repeats its times, rooms and drugs
    for r in range(_rows(table)):
        if r == skip_row:
            continue
        text, metrics_of = _cell(table, r, col)
        if (text, len(metrics_of)) in seen:
            continue
        seen.add((text, len(metrics_of)))
        for metrics in metrics_of:
            widest = max([widest, *(metrics.horizontalAdvance(w) for w in text.split())])
    return widest + CELL_PADDING if widest else 0


def fit_columns(table: QTableView, wanted: Sequence[int], flexible: Sequence[int],
                *, skip_row: int | None = None) -> None:
    """Sets every column's width for the table's viewport (see the module docstring).
    ``wanted``: the width each column not in ``flexible`` would like (flexible ones: ignored).
    ``skip_row``: a row spanning the table (a widget opened under a row), not measured."""
    room = table.viewport().width()
    model = table.model()
    count = model.columnCount() if model is not None else 0
    least = [max(header_width(table, c), longest_word(table, c, skip_row)) for c in range(count)]
    widths = [max(least[c], wanted[c]) for c in range(count)]
    fixed = [c for c in range(count) if c not in flexible]
    short = sum(least[c] for c in flexible) - (room - sum(widths[c] for c in fixed))
    for col in sorted(fixed, key=lambda c: least[c] - widths[c]):  # the widest give first
        if short <= 0:
            break
        give = min(short, widths[col] - least[col])
        widths[col] -= give
        short -= give
    spare = room - sum(widths[c] for c in fixed) - sum(least[c] for c in flexible)
    for i, col in enumerate(flexible):  # each its least, and an equal share of what is left
        extra = max(0, spare) // (len(flexible) - i)
        widths[col] = least[col] + extra
        spare -= extra
    for col in range(count):
        table.setColumnWidth(col, widths[col])


def row_height(table: QTableView, row: int, least: int) -> int:
    """The height ``row`` needs for its wrapped text at its columns' widths (at least
    ``least``)."""
    flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
    model = table.model()
    height = least
    for c in range(model.columnCount() if model is not None else 0):
        text, metrics_of = _cell(table, row, c)
        if not text:
            continue
        room = QRect(0, 0, max(1, table.columnWidth(c) - CELL_PADDING), 100_000)
        for metrics in metrics_of:
            height = max(height, metrics.boundingRect(room, flags, text).height() + ROW_PADDING)
    return height


def fit_rows(table: QTableView, least: int, *, skip_row: int | None = None) -> None:
    """Every row but ``skip_row`` as high as its wrapped text needs, at least ``least``."""
    for r in range(_rows(table)):
        if r == skip_row:
            continue
        height = row_height(table, r, least)
        if table.rowHeight(r) != height:
            table.setRowHeight(r, height)


def fit_uniform_rows(table: QTableView, least: int) -> None:
    """Every row as high as the tallest row needs (at least ``least``): one default height,
    for a long list whose rows should read alike (the med pass)."""
    flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
    model = table.model()
    height = least
    seen: set[tuple[int, str, int]] = set()  # each distinct cell text measured once
    for c in range(model.columnCount() if model is not None else 0):
        room = QRect(0, 0, max(1, table.columnWidth(c) - CELL_PADDING), 100_000)
        for r in range(_rows(table)):
            text, metrics_of = _cell(table, r, c)
            if not text or (c, text, len(metrics_of)) in seen:
                continue
            seen.add((c, text, len(metrics_of)))
            for metrics in metrics_of:
                needed = metrics.boundingRect(room, flags, text).height() + ROW_PADDING
                height = max(height, needed)
    if table.verticalHeader().defaultSectionSize() != height:
        table.verticalHeader().setDefaultSectionSize(height)
