"""Touch first: kinetic scrolling for the scrolling views, and a guard that keeps the wheel (or
a touchpad swipe) from changing a value nobody chose to change.

:func:`kinetic` makes one scrolling view scroll with a finger and with a press-drag of the
mouse, since many ward touchscreens send mouse events: QScroller's ``TouchGesture`` on the
view, ``LeftMouseButtonGesture`` on its viewport (not on the view, so dragging its scroll bar
still works). A tap, a press and release without moving, still reaches the row or button under
it; a drag only scrolls.

:class:`TouchGuard` is an event filter on the QApplication (the main window installs it). A
wheel event over a combo box, spin box or date/time edit that does not have the focus goes to
the nearest scrolling view around the control instead: the form scrolls, the value stays. Once
the user has tapped into the control on purpose (it has the focus) it takes the wheel as usual.
When such a control is polished it gets the ``StrongFocus`` policy, so the wheel never focuses
it, and a combo box gets a styled item delegate, so its list rows take the stylesheet's 44 px
(``resources/style.qss``; Qt's own menu-like delegate ignores it).

GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScroller,
    QScrollerProperties,
    QStyledItemDelegate,
    QWidget,
)

GUARDED = (QComboBox, QAbstractSpinBox)  # QAbstractSpinBox: spin boxes, date and time edits
_WHEEL = QEvent.Type.Wheel
_POLISH = QEvent.Type.Polish
_OFF = QScrollerProperties.OvershootPolicy.OvershootAlwaysOff


def kinetic(view: QAbstractScrollArea) -> None:
    """Makes ``view`` scroll with a finger and with a mouse press-drag, with momentum and no
    overshoot; an item view scrolls by pixel, not by row, so the content follows the finger.
    Call once, after the view has its viewport."""
    viewport = view.viewport()
    QScroller.grabGesture(view, QScroller.ScrollerGestureType.TouchGesture)
    QScroller.grabGesture(viewport, QScroller.ScrollerGestureType.LeftMouseButtonGesture)
    for target in (view, viewport):
        scroller = QScroller.scroller(target)
        properties = scroller.scrollerProperties()
        for metric in (QScrollerProperties.ScrollMetric.HorizontalOvershootPolicy,
                       QScrollerProperties.ScrollMetric.VerticalOvershootPolicy):
            properties.setScrollMetric(metric, _OFF)
        scroller.setScrollerProperties(properties)
    if isinstance(view, QAbstractItemView):
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)


def is_kinetic(view: QAbstractScrollArea) -> bool:
    """True if :func:`kinetic` was applied to ``view``."""
    return QScroller.hasScroller(view) and QScroller.hasScroller(view.viewport())


def stop_scrolling(view: QAbstractScrollArea) -> None:
    """Stops a fling still moving ``view`` (before it is scrolled somewhere on purpose)."""
    for target in (view, view.viewport()):
        if QScroller.hasScroller(target):
            QScroller.scroller(target).stop()


def _guarded(widget: QWidget) -> QWidget | None:
    """The combo box, spin box or date edit ``widget`` is or belongs to (its line edit)."""
    for candidate in (widget, widget.parentWidget()):
        if candidate is not None and isinstance(candidate, GUARDED):
            return candidate
    return None


def _scrolling_view(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


class TouchGuard(QObject):
    """The app-wide guard (see the module doc). Install with
    ``QApplication.instance().installEventFilter(guard)``; remove it the same way."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == _POLISH:
            if isinstance(watched, GUARDED):
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            if isinstance(watched, QComboBox) and not isinstance(watched.itemDelegate(),
                                                                 QStyledItemDelegate):
                watched.setItemDelegate(QStyledItemDelegate(watched))
            return False
        if kind != _WHEEL or not isinstance(watched, QWidget):
            return False
        control = _guarded(watched)
        if control is None:
            return False
        proxy = control.focusProxy()
        if control.hasFocus() or (proxy is not None and proxy.hasFocus()):
            return False
        view = _scrolling_view(control)
        if view is not None:
            bar = view.verticalScrollBar()
            if bar.maximum() > bar.minimum():
                QApplication.sendEvent(bar, event)
        return True  # the control never takes an unfocused wheel
