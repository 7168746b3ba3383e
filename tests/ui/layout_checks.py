"""Geometry checks for the layout tests: touch targets, clipping, overlaps, sideways scrolling.

Each returns a list of readable problems (empty when the screen is fine)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QWidget,
)

MIN_TARGET = 48
_DIRECT = Qt.FindChildOption.FindDirectChildrenOnly


def _name(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, QAbstractButton) else ""
    return f"{type(widget).__name__}({widget.objectName() or text!r})"


def _in_scroll_area(widget: QWidget, root: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _rect_in(widget: QWidget, root: QWidget) -> QRect:
    return QRect(widget.mapTo(root, QPoint(0, 0)), widget.size())


def _shown(widget: QWidget) -> bool:
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0


def problems(page: QWidget, window: QWidget, *, text: bool = False) -> list[str]:
    """Buttons too small or outside the window, overlaps, overflows, sideways scrolling; with
    ``text``, also text cut off (:func:`clipped_text`; the admin screens are held to it)."""
    found: list[str] = []
    bounds = window.rect()
    for button in page.findChildren(QAbstractButton):
        if not _shown(button) or button.window() is not window:
            continue
        if type(button).__name__ == "QTableCornerButton":
            continue  # Qt's own corner of a table
        if button.text() and button.width() < button.minimumSizeHint().width():
            found.append(f"{_name(button)} is too narrow for its text ({button.width()} px)")
        if button.height() < MIN_TARGET:
            found.append(f"{_name(button)} is {button.height()} px high (< {MIN_TARGET})")
        if not _in_scroll_area(button, page) and not bounds.contains(_rect_in(button, window)):
            found.append(f"{_name(button)} at {_rect_in(button, window)} is outside the window")
    for parent in [page, *page.findChildren(QWidget)]:
        layout = parent.layout()
        if layout is None or not _shown(parent):
            continue
        kids = [c for c in parent.findChildren(QWidget, options=_DIRECT)
                if _shown(c) and layout.indexOf(c) >= 0 and not c.isWindow()]
        for i, first in enumerate(kids):
            if not _in_scroll_area(first, page) and not parent.rect().contains(first.geometry()):
                found.append(f"{_name(first)} overflows {_name(parent)}")
            for second in kids[i + 1:]:
                if first.geometry().intersects(second.geometry()):
                    found.append(f"{_name(first)} overlaps {_name(second)}")
    for area in page.findChildren(QAbstractScrollArea):
        if _shown(area) and area.horizontalScrollBar().isVisible():
            found.append(f"{_name(area)} needs a horizontal scroll bar")
    return found + (clipped_text(page) if text else [])


CELL_PADDING = 6 + 3  # the theme's item padding (resources/style.qss) and the text margin


def clipped_text(page: QWidget) -> list[str]:
    """Text that does not fit where it is shown: a label narrower (or, wrapping, lower) than
    its text needs, and a table cell whose text is cut ("…") or wraps past its row. Only what
    is on screen: a label or cell hidden inside a scroll area's unseen part is not counted."""
    from PySide6.QtWidgets import QLabel, QTableView

    found: list[str] = []
    for widget in page.findChildren(QLabel):
        if not _shown(widget) or not widget.text() or widget.pixmap() is not None:
            continue
        if type(widget.parentWidget()).__name__ in {"QToolTip", "QTipLabel"}:
            continue
        if widget.wordWrap():
            needed = widget.heightForWidth(widget.width())
            if needed > widget.height() + 1:
                found.append(f"QLabel({widget.text()[:40]!r}) is cut off: {widget.height()} px "
                             f"high, its text needs {needed}")
        elif widget.width() + 1 < widget.sizeHint().width():
            found.append(f"QLabel({widget.text()[:40]!r}) is cut off: {widget.width()} px wide, "
                         f"its text needs {widget.sizeHint().width()}")
    for table in page.findChildren(QTableView):  # item tables and model views (the med pass)
        if _shown(table) and table.model() is not None:
            found += _clipped_cells(table)
    return found


def _clipped_cells(table: QWidget) -> list[str]:
    from PySide6.QtGui import QFont, QFontMetrics
    from PySide6.QtWidgets import QTableView

    assert isinstance(table, QTableView)
    model = table.model()
    metrics = table.fontMetrics()
    bold = QFont(table.horizontalHeader().font())
    bold.setBold(True)  # the theme's header
    for col in range(model.columnCount()):
        header = model.headerData(col, Qt.Orientation.Horizontal)
        if header is None or table.isColumnHidden(col) or not table.horizontalHeader().isVisible():
            continue
        needed = max(QFontMetrics(bold).horizontalAdvance(line)
                     for line in str(header).split("\n")) + 2 * 8  # header padding
        if needed > table.columnWidth(col):
            return [f"{_name(table)} header {str(header)!r} is cut off "
                    f"({table.columnWidth(col)} px, needs {needed})"]
    flags = Qt.AlignmentFlag.AlignLeft | (
        Qt.TextFlag.TextWordWrap if table.wordWrap() else Qt.TextFlag.TextSingleLine)
    found: list[str] = []
    for row in range(model.rowCount()):
        if table.isRowHidden(row):
            continue
        for col in range(model.columnCount()):
            value = model.data(model.index(row, col))
            text = "" if value is None else str(value)
            if not text or table.isColumnHidden(col):
                continue
            room = table.columnWidth(col) - 2 * CELL_PADDING
            needed = metrics.boundingRect(QRect(0, 0, max(room, 1), 100_000), int(flags), text)
            if needed.width() > room + 1 or needed.height() > table.rowHeight(row) - 8:
                found.append(f"{_name(table)} row {row} column {col}: {text[:40]!r} is "
                             f"cut off ({table.columnWidth(col)}×{table.rowHeight(row)} px, "
                             f"needs {needed.width() + 2 * CELL_PADDING}×{needed.height()})")
                return found  # one per table is enough to act on
    return found



MIN_TOUCH = 44  # a fingertip: every control a nurse taps is at least this high


def small_targets(page: QWidget) -> list[str]:
    """Every visible control of ``page`` a finger taps that is under :data:`MIN_TOUCH` px
    high: buttons, check boxes, line edits, combo boxes (and the rows of their lists), spin
    boxes and date edits (and their arrows), table and list rows."""
    from PySide6.QtWidgets import (
        QAbstractItemView,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QStyle,
        QStyleOptionSpinBox,
    )

    found: list[str] = []
    controls = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit)
    for widget in page.findChildren(QWidget):
        if not _shown(widget) or type(widget).__name__ == "QTableCornerButton":
            continue
        if isinstance(widget, QLineEdit) and isinstance(widget.parentWidget(),
                                                        QComboBox | QAbstractSpinBox):
            continue  # the editor inside a combo or spin box: the box is the target
        if isinstance(widget, controls) and widget.height() < MIN_TOUCH:
            found.append(f"{_name(widget)} is {widget.height()} px high")
        if isinstance(widget, QComboBox):
            view = widget.view()
            for row in range(widget.count()):
                height = view.sizeHintForRow(row)
                if height < MIN_TOUCH:
                    found.append(f"{_name(widget)} list row {widget.itemText(row)!r} is "
                                 f"{height} px high")
                    break
        if isinstance(widget, QAbstractSpinBox):
            option = QStyleOptionSpinBox()
            option.initFrom(widget)
            option.subControls = (QStyle.SubControl.SC_SpinBoxUp
                                  | QStyle.SubControl.SC_SpinBoxDown)
            option.buttonSymbols = widget.buttonSymbols()
            option.frame = widget.hasFrame()
            for part in (QStyle.SubControl.SC_SpinBoxUp, QStyle.SubControl.SC_SpinBoxDown):
                rect = widget.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, option,
                                                     part, widget)
                if min(rect.width(), rect.height()) < MIN_TOUCH:
                    which = "up" if part == QStyle.SubControl.SC_SpinBoxUp else "down"
                    found.append(f"{_name(widget)} {which} arrow is {rect.width()}×"
                                 f"{rect.height()} px")
        if isinstance(widget, QAbstractItemView) and not isinstance(
                widget.parentWidget(), QComboBox):
            model = widget.model()
            for row in range(model.rowCount() if model is not None else 0):
                height = widget.visualRect(model.index(row, 0)).height()
                if 0 < height < MIN_TOUCH:
                    found.append(f"{_name(widget)} row {row} is {height} px high")
                    break
    return found
