"""Steps the UI tests share: type, tap, scan, wait."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

from tests.ui.harness import PASSWORD, Facility1
from ui.lag import EventLoopLagMonitor
from ui.main_window import MainWindow

WAIT_MS = 15_000
MONITORS: list[EventLoopLagMonitor] = []  # set by the ``lag`` fixture


def _probe(condition: Callable[[], object]) -> bool:
    """Runs a test's check; its own time (DB reads, widget walks) is not the app's lag."""
    result = bool(condition())
    for monitor in MONITORS:
        monitor._last = time.perf_counter()
    return result


def wait(qtbot: object, condition: Callable[[], object], timeout: int = WAIT_MS) -> None:
    """Spins the event loop until ``condition``. The lag monitors count only the time the
    app holds the loop while it spins: the test body's own steps before are excluded."""
    for monitor in MONITORS:
        monitor._last = time.perf_counter()
    qtbot.waitUntil(lambda: _probe(condition), timeout=timeout)  # type: ignore[attr-defined]


def idle(qtbot: object, window: MainWindow) -> None:
    wait(qtbot, lambda: window.runner.idle)


def tap(qtbot: object, widget: QWidget) -> None:
    """A finger on ``widget``: first scrolled into view, as a nurse would, when it sits in a
    scroll area (a kinetic view hands a tap to what is on screen under it, :mod:`ui.touch`)."""
    from PySide6.QtWidgets import QScrollArea

    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    if parent is not None:
        parent.ensureWidgetVisible(widget, 0, 0)
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]


def find(window: QWidget, cls: type, name: str) -> QWidget:
    widget = window.findChild(cls, name)
    assert widget is not None, name
    return widget  # type: ignore[no-any-return]


def scan(qtbot: object, field: QLineEdit, text: str) -> None:
    """Types like a keyboard-wedge scanner: the characters, then Enter."""
    field.setFocus()
    qtbot.keyClicks(field, text)  # type: ignore[attr-defined]
    qtbot.keyClick(field, Qt.Key.Key_Return)  # type: ignore[attr-defined]


def sign_in(qtbot: object, window: MainWindow, facility: Facility1, username: str) -> None:
    login = window.login
    login.username.setText(username)
    login.password.setText(PASSWORD)
    login.code.setText(facility.code(username))
    tap(qtbot, login.sign_in_button)
    wait(qtbot, lambda: window.work is not None and window.root.currentWidget() is window.work)
    idle(qtbot, window)


def button_named(window: QWidget, name: str) -> QPushButton:
    return find(window, QPushButton, name)  # type: ignore[return-value]


def visible_texts(root: QWidget) -> list[str]:
    """Every text a person could read now: visible labels, buttons, line edits, table cells."""
    from PySide6.QtWidgets import QAbstractButton, QTableWidget

    texts: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            texts.append(widget.text())
        elif isinstance(widget, QTableWidget):
            for row in range(widget.rowCount()):
                for col in range(widget.columnCount()):
                    item = widget.item(row, col)
                    if item is not None:
                        texts.append(item.text())
    return texts


def open_dialog(qtbot: object) -> QWidget:
    """The form dialog that is open now."""
    from PySide6.QtWidgets import QApplication

    from ui.screens.dialogs import FormDialog

    found: list[QWidget] = []

    def look() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, FormDialog) and w.isVisible()]
        return bool(found)

    wait(qtbot, look)
    return found[-1]


def open_resident_by_wristband(qtbot: object, window: MainWindow, wristband: str) -> None:
    scan(qtbot, window.overview.scan, wristband)
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar and window.mar.data is not None)
    idle(qtbot, window)


def select_history(qtbot: object, window: MainWindow, entry_id: str) -> None:
    section = window.mar.history
    rows = [i for i, r in enumerate(section._rows) if r.payload.entry_id == entry_id]
    assert rows, entry_id
    table = section.table
    table.selectRow(rows[0])
    table.setCurrentCell(rows[0], 0)
    table.cellClicked.emit(rows[0], 0)


def record_gui_lag(monitor: EventLoopLagMonitor) -> None:
    """The flow's worst GUI-thread stall (collector pauses excluded, see :mod:`ui.lag`).

    The 50 ms budget is a speed target, so it is checked by ``make bench`` (suite
    ``gui_lag``, which runs these flows with ``MAR_GUI_LAG_FILE`` set), not asserted here: on
    this noisy two-core machine Qt's own layout and paint of a freshly shown screen lands
    between 40 and 80 ms. What the tests do assert, for every UI test, is that no database
    connection and no network request is ever made on the GUI thread (``conftest``).
    """
    import json
    import os

    target = os.environ.get("MAR_GUI_LAG_FILE")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            flow = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
            out.write(json.dumps({"flow": flow, "worst_ms": monitor.worst_ms,
                                  "worst_gc_ms": monitor.worst_gc_ms}) + "\n")
