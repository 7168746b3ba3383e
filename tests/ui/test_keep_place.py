"""The nurse keeps her place: every MAR opens at the top; a lock keeps the dose in progress
for the same user (and shows no trace of it to anyone else); a wristband scan confirms the
resident for 10 minutes, until another resident is opened or sign-out, and across a lock only
if the same user unlocks within 5 minutes."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QPoint

from mar_desktop.model import Outcome
from tests.ui.harness import OTHER_GTIN, PASSWORD, Facility1, med_scan
from tests.ui.steps import (
    idle,
    open_resident_by_wristband,
    scan,
    sign_in,
    tap,
    visible_texts,
    wait,
)
from tests.ui.test_med_pass import records
from ui.main_window import MainWindow

PHI = ("Holloway", "Agnes", "1938", "Penicillin", "WB100001", "Acetaminophen", "Tension headache")


def pass_time(window: MainWindow, facility: Facility1, minutes: int) -> None:
    """``minutes`` go by with the nurse busy at the cart (no idle lock): a touch each minute."""
    for _ in range(minutes):
        facility.clock.advance(timedelta(minutes=1))
        window.ctx.backend.sessions.touch()  # type: ignore[union-attr]


def open_by_tap(qtbot: object, window: MainWindow, resident_id: str) -> None:
    """Opens a resident from the unit overview by a tap on the row: no wristband scan."""
    window.show_overview()
    table = window.overview.table
    wait(qtbot, lambda: table.rowCount() >= 2)
    idle(qtbot, window)
    rows = [r for r in range(table.rowCount())
            if table.item(r, 0).data(0x0100) == resident_id]  # Qt.UserRole
    assert rows, resident_id
    table.cellClicked.emit(rows[0], 0)
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar
         and window.mar.data is not None
         and window.mar.data.mar.resident.resident_id == resident_id)
    idle(qtbot, window)


def lock(qtbot: object, window: MainWindow) -> None:
    window.lock_now()
    wait(qtbot, lambda: window.root.currentWidget() is window.lock_screen)


def unlock(qtbot: object, window: MainWindow) -> None:
    window.lock_screen.password.setText(PASSWORD)
    tap(qtbot, window.lock_screen.unlock_button)
    wait(qtbot, lambda: window.root.currentWidget() is window.work)
    idle(qtbot, window)


def start_prn_dose(qtbot: object, window: MainWindow) -> None:
    """Agnes Holloway's wristband, her PRN acetaminophen scanned, Given, a reason, a pain
    score and a note typed: the dose half done."""
    open_resident_by_wristband(qtbot, window, "WB100001")
    scan(qtbot, window.mar.scan, med_scan(OTHER_GTIN))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    idle(qtbot, window)
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    admin._fields["prn_reason"].setText("Tension headache")
    admin._fields["pain"].set_value(6)
    admin._fields["note"].setText("With a glass of water")


def test_every_mar_opens_at_the_top_after_another_residents_mar_was_scrolled(
    qtbot, window: MainWindow, facility: Facility1
):
    window.resize(1280, 560)  # shorter than a MAR: it scrolls
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    area = window.mar.scroll_area
    bar = area.verticalScrollBar()
    wait(qtbot, lambda: bar.maximum() > 100)
    bar.setValue(bar.maximum())  # down at the history
    window.show_overview()
    open_resident_by_wristband(qtbot, window, "WB100002")
    assert bar.value() == 0
    due = window.mar.due
    top = due.mapTo(area.viewport(), QPoint(0, 0)).y()
    assert top >= 0 and top + due.heading.height() <= area.viewport().height()
    assert "Due now" in " ".join(visible_texts(window.mar))
    # The same resident opened again from the overview: at the top as well.
    bar.setValue(bar.maximum())
    open_by_tap(qtbot, window, "r2")
    assert bar.value() == 0


def test_idle_lock_and_unlock_by_the_same_user_brings_the_dose_back(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    start_prn_dose(qtbot, window)
    admin = window.administration

    facility.clock.advance(timedelta(seconds=301))  # idle for the facility's 5 minutes
    window.bridge.tick()  # type: ignore[union-attr]
    wait(qtbot, lambda: window.root.currentWidget() is window.lock_screen)
    texts = " ".join(visible_texts(window))
    assert not any(word in texts for word in PHI)
    assert not admin.bedside.who.text() and not admin._fields  # the widgets hold nothing
    assert not admin.isVisible()

    unlock(qtbot, window)
    assert window.stack.currentWidget() is admin
    assert admin.bedside.who.text().startswith("Holloway, Agnes")
    assert admin.bedside.identity_check.text() == "✓ Wristband scanned"
    assert admin.bedside.medication_check.text().startswith("✓ Medication scanned")
    assert admin.outcome() is Outcome.GIVEN
    assert admin._fields["prn_reason"].text() == "Tension headache"
    assert admin._fields["pain"].value() == 6
    assert admin._fields["note"].text() == "With a glass of water"
    # ... and it records as it stands.
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: records(facility, "o-prn"))
    (record,) = records(facility, "o-prn")
    assert record.prn_reason == "Tension headache" and record.pain_score == 6
    idle(qtbot, window)


def test_after_the_lock_another_user_starts_fresh_with_no_trace_of_the_dose(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    start_prn_dose(qtbot, window)
    lock(qtbot, window)
    window.lock_screen.switch_user.emit()  # "Sign in as someone else"
    wait(qtbot, lambda: window.root.currentWidget() is window.login)
    idle(qtbot, window)
    sign_in(qtbot, window, facility, "nurse2")
    assert window.stack.currentWidget() is window.overview
    admin = window.administration
    assert admin._target is None and not admin._fields and not admin.bedside.wristband
    assert "Tension headache" not in " ".join(visible_texts(window))
    # The same resident opened by Tobias: no wristband in force, no dose half done.
    open_by_tap(qtbot, window, "r1")
    assert window.mar.identity_state.text() == "○ Wristband not scanned"
    scan(qtbot, window.mar.scan, med_scan(OTHER_GTIN))
    wait(qtbot, lambda: window.stack.currentWidget() is admin and "prn_reason" in admin._fields)
    idle(qtbot, window)
    assert admin.bedside.identity_check.text() == "○ Scan the wristband"
    assert admin.outcome() is None
    assert admin._fields["prn_reason"].text() == ""
    assert admin._fields["pain"].value() is None
    # His own scan of the wristband, on the dose screen, counts from now.
    scan(qtbot, admin.scan, "WB100001")
    wait(qtbot, lambda: admin.bedside.identity_check.text() == "✓ Wristband scanned")
    assert window.ctx.wristbands.valid_for("r1") == "WB100001"  # type: ignore[union-attr]


def test_a_wristband_scan_counts_for_10_minutes_for_that_resident(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    wristbands = window.ctx.wristbands  # type: ignore[union-attr]
    pass_time(window, facility, 9)
    open_by_tap(qtbot, window, "r1")
    assert window.mar.identity_state.text() == "✓ Wristband scanned"
    # Opening a dose with it does not make the scan any younger.
    scan(qtbot, window.mar.scan, med_scan(OTHER_GTIN))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.identity_check.text() == "✓ Wristband scanned")
    idle(qtbot, window)
    pass_time(window, facility, 2)  # 11 minutes
    open_by_tap(qtbot, window, "r1")
    assert window.mar.identity_state.text() == "○ Wristband not scanned"
    assert wristbands.valid_for("r1") == ""

    # On the dose screen, a scan that grew old is asked for again before recording.
    open_resident_by_wristband(qtbot, window, "WB100001")
    start_prn_dose(qtbot, window)
    pass_time(window, facility, 11)
    tap(qtbot, admin.confirm)
    assert admin.bedside.identity_check.text() == "○ Scan the wristband"
    assert "10 minutes" in admin.banner.text()
    assert not records(facility, "o-prn")


def test_a_wristband_scan_ends_when_another_resident_is_opened_or_at_sign_out(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    open_by_tap(qtbot, window, "r2")  # Bernard Osei
    open_by_tap(qtbot, window, "r1")
    assert window.mar.identity_state.text() == "○ Wristband not scanned"

    open_resident_by_wristband(qtbot, window, "WB100001")
    window.sign_out()
    wait(qtbot, lambda: window.root.currentWidget() is window.login)
    idle(qtbot, window)
    facility.clock.advance(timedelta(seconds=30))  # a fresh authenticator code
    sign_in(qtbot, window, facility, "nurse")
    open_by_tap(qtbot, window, "r1")
    assert window.mar.identity_state.text() == "○ Wristband not scanned"


def test_a_wristband_scan_survives_a_lock_only_up_to_5_minutes(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    lock(qtbot, window)
    facility.clock.advance(timedelta(minutes=4))
    unlock(qtbot, window)
    wait(qtbot, lambda: window.mar.data is not None)
    idle(qtbot, window)
    assert window.mar.identity_state.text() == "✓ Wristband scanned"

    lock(qtbot, window)
    facility.clock.advance(timedelta(minutes=5, seconds=30))
    unlock(qtbot, window)
    wait(qtbot, lambda: window.mar.data is not None)
    idle(qtbot, window)
    assert window.mar.identity_state.text() == "○ Wristband not scanned"

    # A dose kept over a long lock comes back without the wristband, which is asked again.
    open_resident_by_wristband(qtbot, window, "WB100001")
    start_prn_dose(qtbot, window)
    lock(qtbot, window)
    facility.clock.advance(timedelta(minutes=6))
    unlock(qtbot, window)
    admin = window.administration
    assert window.stack.currentWidget() is admin
    assert admin._fields["prn_reason"].text() == "Tension headache"
    assert admin.bedside.identity_check.text() == "○ Scan the wristband"
    assert "scan the wristband again" in admin.banner.text()
