"""The med pass end to end through the real stack: sign in, scan, record, idle lock, unlock,
amend the note, void — with the GUI thread never blocked for 50 ms or more."""

from __future__ import annotations

from datetime import timedelta

from mar_desktop.model import Outcome
from tests.ui.harness import METOPROLOL_GTIN, PASSWORD, Facility1, med_scan
from tests.ui.steps import (
    button_named,
    idle,
    open_dialog,
    open_resident_by_wristband,
    record_gui_lag,
    scan,
    select_history,
    sign_in,
    tap,
    visible_texts,
    wait,
)
from ui.lag import EventLoopLagMonitor
from ui.main_window import MainWindow

PHI = ("Holloway", "Agnes", "1938", "Penicillin", "WB100001")


def records(facility: Facility1, order_id: str):
    read = facility.store.reader()
    now = facility.clock.now()
    return [r for r in read.administrations(since=now - timedelta(days=1),
                                            until=now + timedelta(days=1))
            if r.order_id == order_id]


def test_scan_record_lock_unlock_amend_void(
    qtbot, window: MainWindow, facility: Facility1, lag: EventLoopLagMonitor
):
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    assert window.mar.identity.name.text() == "Holloway, Agnes"
    assert "Penicillin" in window.mar.identity.allergies.text()
    assert window.mar.identity.allergies.text().startswith("⚠")

    scan(qtbot, window.mar.scan, med_scan(METOPROLOL_GTIN))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    idle(qtbot, window)
    assert admin.bedside.identity_check.text() == "✓ Wristband scanned"
    # Two taps after the scans: Given, Confirm.
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar and records(facility, "o-meto"))
    idle(qtbot, window)
    (record,) = records(facility, "o-meto")
    assert record.outcome is Outcome.GIVEN
    assert record.actor_user_id == "u-nurse"
    wait(qtbot, lambda: any("Given 25 mg by Marisol Ortega, RN" in t
                            for t in window.mar.history.texts()))

    # Idle for the facility's 5 minutes: locked, and no PHI anywhere on screen.
    facility.clock.advance(timedelta(seconds=301))
    window.bridge.tick()
    assert window.root.currentWidget() is window.lock_screen
    texts = " ".join(visible_texts(window))
    assert not any(word in texts for word in PHI)

    window.lock_screen.password.setText(PASSWORD)
    tap(qtbot, window.lock_screen.unlock_button)
    wait(qtbot, lambda: window.root.currentWidget() is window.work
         and window.mar.data is not None)
    idle(qtbot, window)

    select_history(qtbot, window, record.entry_id)
    tap(qtbot, button_named(window, "amendNote"))
    dialog = open_dialog(qtbot)
    dialog.note.setPlainText("Taken with water, no difficulty.")
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: any("Amended note (Marisol Ortega, RN" in t
                            for t in visible_texts(window.mar)))
    assert any("Note:" not in t and "Taken with water" in t for t in window.mar.history.texts())
    idle(qtbot, window)

    select_history(qtbot, window, record.entry_id)
    tap(qtbot, button_named(window, "voidEntry"))
    dialog = open_dialog(qtbot)
    dialog.reason.setPlainText("Recorded against the wrong order.")
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: records(facility, "o-meto")[0].voided)
    idle(qtbot, window)
    wait(qtbot, lambda: any("VOIDED (entered in error) by Marisol Ortega" in t
                            for t in visible_texts(window.mar)))
    (row,) = [r for r in window.mar.history._rows if r.payload.entry_id == record.entry_id]
    assert row.struck and "Metoprolol" in row.cells[2]  # struck through, still readable
    record_gui_lag(lag)
