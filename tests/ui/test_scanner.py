"""The app-wide scanner filter (:mod:`ui.scanner`): a keyboard-wedge scan works wherever focus
is, human typing is never taken for one, and text fields are left alone.

Key times come from an injected clock (no sleeps): a scanner's keys 3 ms apart, a person's
120 ms apart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from tests.ui.harness import METOPROLOL_GTIN, PASSWORD, Facility1, med_scan
from tests.ui.steps import button_named, idle, sign_in, tap, wait
from ui.main_window import MainWindow
from ui.scanner import ScannerFilter
from ui.startup import install_scanner

SCANNER_MS = 3.0
PERSON_MS = 120.0


class KeyClock:
    """Each key press happens ``step`` ms after the previous one."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.step = SCANNER_MS

    def __call__(self, _event: QKeyEvent) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def clock() -> KeyClock:
    return KeyClock()


@pytest.fixture
def scanner(qapp: QApplication, window: MainWindow, clock: KeyClock) -> Iterator[ScannerFilter]:
    installed = install_scanner(qapp, window, clock=clock)
    assert isinstance(installed, ScannerFilter)
    try:
        yield installed
    finally:
        qapp.removeEventFilter(installed)


def focus(qtbot: object, widget: QWidget) -> None:
    window = widget.window()
    window.activateWindow()
    widget.setFocus()
    wait(qtbot, lambda: QApplication.focusWidget() is widget)


def type_keys(qtbot: object, text: str, *, enter: bool = True) -> None:
    """Key presses to whatever has focus now, as a wedge scanner or a keyboard sends them."""
    for char in text:
        target = QApplication.focusWidget()
        assert target is not None
        qtbot.keyClick(target, char)  # type: ignore[attr-defined]
    if enter:
        target = QApplication.focusWidget()
        assert target is not None
        qtbot.keyClick(target, Qt.Key.Key_Return)  # type: ignore[attr-defined]


def test_wristband_scan_with_focus_on_a_button_opens_the_resident(
    qtbot, window: MainWindow, facility: Facility1, scanner: ScannerFilter
):
    sign_in(qtbot, window, facility, "nurse")
    focus(qtbot, window.overview.refresh_button)
    type_keys(qtbot, "WB100001")
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar and window.mar.data is not None)
    idle(qtbot, window)
    assert scanner.recognised == 1
    assert window.mar.identity.name.text() == "Holloway, Agnes"
    assert window.mar.identity_state.text() == "✓ Wristband scanned"


def test_medication_scan_anywhere_on_the_mar_starts_the_administration(
    qtbot, window: MainWindow, facility: Facility1, scanner: ScannerFilter
):
    sign_in(qtbot, window, facility, "nurse")
    focus(qtbot, window.overview.refresh_button)
    type_keys(qtbot, "WB100001")
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar and window.mar.data is not None)
    idle(qtbot, window)
    focus(qtbot, button_named(window, "backToOverview"))
    type_keys(qtbot, med_scan(METOPROLOL_GTIN))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    idle(qtbot, window)
    assert scanner.recognised == 2
    assert window.stack.currentWidget() is admin  # Enter did not press "‹ Residents"


def test_human_typing_is_never_a_scan(
    qtbot, window: MainWindow, facility: Facility1, scanner: ScannerFilter, clock: KeyClock
):
    sign_in(qtbot, window, facility, "nurse")
    focus(qtbot, window.overview.refresh_button)
    clock.step = PERSON_MS
    type_keys(qtbot, "WB100001")
    clock.step = SCANNER_MS
    type_keys(qtbot, "WB1")  # fast but too short
    clock.step = SCANNER_MS
    type_keys(qtbot, "WB100001", enter=False)
    clock.step = PERSON_MS
    type_keys(qtbot, "", enter=True)  # a fast burst, but Enter a person's pause later
    idle(qtbot, window)
    assert scanner.recognised == 0
    assert window.stack.currentWidget() is window.overview


def test_text_fields_get_fast_typing_unchanged(
    qtbot, window: MainWindow, facility: Facility1, scanner: ScannerFilter
):
    sign_in(qtbot, window, facility, "nurse")
    search = window.overview.search
    focus(qtbot, search)
    type_keys(qtbot, "Holloway")
    assert search.text() == "Holloway"
    assert scanner.recognised == 0
    assert window.stack.currentWidget() is window.overview
    search.clear()
    # the lock screen's password field: a password manager or a fast typist, never a scan
    tap(qtbot, button_named(window, "lockNow"))
    wait(qtbot, lambda: window.root.currentWidget() is window.lock_screen)
    focus(qtbot, window.lock_screen.password)
    type_keys(qtbot, PASSWORD, enter=False)
    assert window.lock_screen.password.text() == PASSWORD
    assert scanner.recognised == 0


def test_no_one_signed_in_no_scan(
    qtbot, window: MainWindow, facility: Facility1, scanner: ScannerFilter
):
    focus(qtbot, window.login.sign_in_button)
    type_keys(qtbot, "WB100001")
    assert scanner.recognised == 0
    assert window.root.currentWidget() is window.login
