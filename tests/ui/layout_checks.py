"""Geometry checks for the layout tests: touch targets, clipping, overlaps, sideways scrolling.

Each returns a list of readable problems (empty when the screen is fine)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QScrollArea,
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


def problems(page: QWidget, window: QWidget) -> list[str]:
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
    for area in page.findChildren(QScrollArea):
        if _shown(area) and area.horizontalScrollBar().isVisible():
            found.append(f"{_name(area)} needs a horizontal scroll bar")
    return found

