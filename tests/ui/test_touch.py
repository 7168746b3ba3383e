"""Touch first: lists scroll under a finger and under a mouse press-drag, a tap still opens the
row under it, the wheel never changes an unfocused combo box, and every control a nurse taps on
the main screens is at least 44 px high (:func:`tests.ui.layout_checks.small_targets`)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QDate, QDateTime, QPoint, QPointF, Qt, QTime
from PySide6.QtGui import QInputDevice, QPointingDevice, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QDateTimeEdit,
    QHeaderView,
    QPlainTextEdit,
    QScrollArea,
    QScroller,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tests.ui.harness import INSULIN_GTIN, OTHER_GTIN, PASSWORD, Facility1, med_scan
from tests.ui.layout_checks import small_targets
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, tap, wait
from ui.main_window import MainWindow
from ui.screens.dialogs import FollowupDialog
from ui.touch import is_kinetic, kinetic
from ui.widgets.section_table import SectionTable

_DEVICES: list[QPointingDevice] = []


def touchscreen() -> QPointingDevice:
    """A touchscreen registered with Qt (once the application exists), as a ward tablet's."""
    if not _DEVICES:
        _DEVICES.append(QTest.createTouchDevice(QInputDevice.DeviceType.TouchScreen))
    return _DEVICES[0]


def short_window(qtbot: object, window: MainWindow, rows: int = 40) -> None:
    """The overview with ``rows`` rows more than fit: copies of the residents it shows."""
    table = window.overview.table
    wait(qtbot, lambda: table.rowCount() >= 1)
    for _ in range(rows):
        table.insertRow(table.rowCount())
        for column in range(table.columnCount()):
            item = table.item(0, column)
            if item is not None:
                table.setItem(table.rowCount() - 1, column, item.clone())
    wait(qtbot, lambda: table.verticalScrollBar().maximum() > 300)


def finger_drag(widget: QWidget, start: QPoint, distance: int) -> None:
    """A finger on ``widget`` at ``start`` moved up by ``distance`` px and lifted, as the
    touchscreen reports it: touch events to the window, 16 ms apart."""
    top = widget.window()
    point = widget.mapTo(top, start)
    QTest.touchEvent(top, touchscreen()).press(0, point, top).commit()
    for _ in range(distance // 10):
        QTest.qWait(16)
        point -= QPoint(0, 10)
        QTest.touchEvent(top, touchscreen()).move(0, point, top).commit()
    QTest.touchEvent(top, touchscreen()).release(0, point, top).commit()


def settled(view: QAbstractScrollArea) -> bool:
    """True once no fling moves ``view`` any more (a tap during a fling only stops it)."""
    return all(QScroller.scroller(target).state() == QScroller.State.Inactive
               for target in (view, view.viewport()))


def mouse_drag(widget: QWidget, start: QPoint, distance: int) -> None:
    """A press-drag of the left mouse button up by ``distance`` px, 16 ms a step."""
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    point = QPoint(start)
    QTest.mousePress(widget, left, none, point)
    for _ in range(distance // 10):
        QTest.qWait(16)
        point -= QPoint(0, 10)
        QTest.mouseMove(widget, point)
    QTest.mouseRelease(widget, left, none, point)


def test_a_finger_scrolls_the_resident_list_and_a_tap_still_opens_a_row(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    short_window(qtbot, window)
    table = window.overview.table
    bar = table.verticalScrollBar()
    assert bar.value() == 0
    finger_drag(table.viewport(), QPoint(200, table.viewport().height() - 20), 200)
    wait(qtbot, lambda: bar.value() >= 150)
    assert window.stack.currentWidget() is window.overview  # a drag opens nothing

    # A tap (press and release in one place) on a row opens that resident.
    wait(qtbot, lambda: settled(table))
    bar.setValue(0)
    first = table.visualRect(table.model().index(0, 1)).center()
    point = table.viewport().mapTo(window, first)
    QTest.touchEvent(window, touchscreen()).press(0, point, window).commit()
    QTest.touchEvent(window, touchscreen()).release(0, point, window).commit()
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar
         and window.mar.data is not None)
    idle(qtbot, window)


def test_a_mouse_press_drag_scrolls_like_a_finger(qtbot, window: MainWindow, facility: Facility1):
    sign_in(qtbot, window, facility, "nurse")
    short_window(qtbot, window)
    table = window.overview.table
    bar = table.verticalScrollBar()
    mouse_drag(table.viewport(), QPoint(200, table.viewport().height() - 20), 200)
    wait(qtbot, lambda: bar.value() >= 150)
    assert window.stack.currentWidget() is window.overview
    # The scroll bar itself still drags the normal way round.
    wait(qtbot, lambda: settled(table))
    bar.setValue(0)
    handle = QPoint(bar.width() // 2, 30)
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(bar, left, none, handle)
    for _ in range(10):
        QTest.qWait(16)
        handle += QPoint(0, 10)
        QTest.mouseMove(bar, handle)
    QTest.mouseRelease(bar, left, none, handle)
    wait(qtbot, lambda: bar.value() > 0)


def test_a_drag_over_the_mar_scrolls_it_and_a_tap_on_a_due_dose_opens_it(
    qtbot, window: MainWindow, facility: Facility1
):
    window.resize(1280, 640)  # shorter than the MAR, so it scrolls
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    area = window.mar.scroll_area
    bar = area.verticalScrollBar()
    wait(qtbot, lambda: bar.maximum() > 100)
    due = window.mar.due.table
    start = due.viewport().mapTo(area.viewport(), QPoint(300, 20))
    mouse_drag(area.viewport(), start, 100)
    wait(qtbot, lambda: bar.value() >= 50)
    assert window.stack.currentWidget() is window.mar  # the drag started on a dose: not opened
    wait(qtbot, lambda: settled(area))
    bar.setValue(0)
    qtbot.mouseClick(due.viewport(), Qt.MouseButton.LeftButton,
                     pos=due.visualRect(due.model().index(0, 1)).center())
    wait(qtbot, lambda: window.stack.currentWidget() is window.administration)
    idle(qtbot, window)


def wheel_over(widget: QWidget, steps: int = -3) -> None:
    """Wheel notches (negative: towards the user, i.e. scroll down) over ``widget``."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_combo_box_scrolls_the_form_and_changes_nothing(
    qtbot, window: MainWindow, facility: Facility1
):
    window.resize(1280, 560)  # the dose form scrolls
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100002")
    scan(qtbot, window.mar.scan, med_scan(INSULIN_GTIN))  # insulin: it asks the site
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin and "site" in admin._fields)
    idle(qtbot, window)
    site = admin._fields["site"]
    assert site.focusPolicy() == Qt.FocusPolicy.StrongFocus
    site.setCurrentIndex(4)
    bar = admin.form.scroll_area.verticalScrollBar()
    before = bar.value()
    wheel_over(site)
    assert site.currentIndex() == 4
    assert not site.hasFocus()
    assert bar.maximum() == 0 or bar.value() > before  # the form scrolled instead
    # Tapped into on purpose, the combo box takes the wheel.
    site.setFocus()
    wait(qtbot, site.hasFocus)
    wheel_over(site, -1)
    assert site.currentIndex() == 5


def test_the_wheel_over_an_unfocused_date_or_spin_box_changes_nothing(
    qtbot, window: MainWindow
):
    """As in the order and report forms: a start date, a controlled class, a number, in a
    form taller than its scroll area."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    kinetic(area)
    holder = QWidget()
    column = QVBoxLayout(holder)
    start = QDateTimeEdit(QDateTime(QDate(2026, 1, 5), QTime(8, 0)))
    controlled = QComboBox()
    controlled.addItems(["Not controlled", "Schedule II", "Schedule III"])
    count = QSpinBox()
    count.setValue(3)
    for widget in (start, controlled, count):
        column.addWidget(widget)
    column.addSpacing(1500)
    area.setWidget(holder)
    area.resize(400, 300)
    qtbot.addWidget(area)
    area.show()
    wait(qtbot, lambda: area.verticalScrollBar().maximum() > 0)
    for widget in (start, controlled, count):
        assert widget.focusPolicy() == Qt.FocusPolicy.StrongFocus
        wheel_over(widget, 2)
        wheel_over(widget, -2)
    assert start.dateTime() == QDateTime(QDate(2026, 1, 5), QTime(8, 0))
    assert controlled.currentText() == "Not controlled" and count.value() == 3
    bar = area.verticalScrollBar()
    bar.setValue(0)
    wheel_over(start.lineEdit(), -3)  # the date's own text field: the form scrolls
    assert bar.value() > 0 and start.date() == QDate(2026, 1, 5)


def test_every_scrolling_view_of_the_main_screens_is_kinetic(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    scan(qtbot, window.mar.scan, med_scan(OTHER_GTIN))
    wait(qtbot, lambda: window.stack.currentWidget() is window.administration)
    idle(qtbot, window)
    missing = []
    for screen in (window.overview, window.mar, window.administration, window.alerts,
                   window.pass_list):
        for view in screen.findChildren(QAbstractScrollArea):
            inner = isinstance(view.parentWidget(), SectionTable)  # never scroll: fixed height
            if inner or not view.isVisible() or isinstance(view, QHeaderView | QPlainTextEdit):
                continue
            if not is_kinetic(view):
                missing.append(f"{type(screen).__name__}: {type(view).__name__} "
                               f"{view.objectName()!r}")
    assert not missing, missing


def test_every_touch_target_of_the_main_screens_is_44_px(
    qtbot, window: MainWindow, facility: Facility1
):
    found = [f"login: {p}" for p in small_targets(window.login)]
    sign_in(qtbot, window, facility, "nurse")
    found += [f"sidebar: {p}" for p in small_targets(window._sidebar)]
    found += [f"overview: {p}" for p in small_targets(window.overview)]
    open_resident_by_wristband(qtbot, window, "WB100001")
    found += [f"MAR: {p}" for p in small_targets(window.mar)]
    scan(qtbot, window.mar.scan, med_scan(OTHER_GTIN))  # the PRN: reason and pain score
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin and "pain" in admin._fields)
    idle(qtbot, window)
    found += [f"administration: {p}" for p in small_targets(admin)]
    dialog = FollowupDialog("Acetaminophen", window)  # the follow-up's pain score spin box
    dialog.pain_score.show()
    dialog.show()
    wait(qtbot, dialog.isVisible)
    found += [f"follow-up: {p}" for p in small_targets(dialog)]
    dialog.reject()
    window.nav["alerts"].click()
    wait(qtbot, lambda: window.stack.currentWidget() is window.alerts)
    idle(qtbot, window)
    found += [f"alerts: {p}" for p in small_targets(window.alerts)]
    window.nav["pass"].click()
    wait(qtbot, lambda: window.pass_list.found is not None)
    idle(qtbot, window)
    found += [f"med pass: {p}" for p in small_targets(window.pass_list)]
    facility.clock.advance(timedelta(seconds=301))
    window.bridge.tick()
    wait(qtbot, lambda: window.root.currentWidget() is window.lock_screen)
    found += [f"lock screen: {p}" for p in small_targets(window.lock_screen)]
    window.lock_screen.password.setText(PASSWORD)
    tap(qtbot, window.lock_screen.unlock_button)
    wait(qtbot, lambda: window.root.currentWidget() is window.work)
    assert not found, "\n".join(found)
