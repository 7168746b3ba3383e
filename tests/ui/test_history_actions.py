"""History actions where the finger is: a tap on a history row opens Amend/Void right under
that row; the void dialog names the entry (time, drug, outcome, who) and asks for its reason
under the field; a role that may do neither gets nothing to tap."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QPushButton

from mar_desktop.model import Outcome
from tests.ui.harness import METOPROLOL_GTIN, Facility1
from tests.ui.layout_checks import small_targets
from tests.ui.steps import (
    button_named,
    idle,
    open_dialog,
    open_resident_by_wristband,
    select_history,
    sign_in,
    tap,
    wait,
)
from tests.ui.test_confirmation import start
from tests.ui.test_med_pass import records
from ui.main_window import MainWindow


def record_dose(qtbot: object, window: MainWindow, facility: Facility1) -> str:
    start(qtbot, window, "WB100001", METOPROLOL_GTIN)
    admin = window.administration
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: records(facility, "o-meto"))
    (record,) = records(facility, "o-meto")
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar
         and any(r.payload.entry_id == record.entry_id for r in window.mar.history._rows))
    idle(qtbot, window)
    return record.entry_id


def test_amend_and_void_open_under_the_tapped_row_and_the_void_names_the_entry(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    entry_id = record_dose(qtbot, window, facility)
    history = window.mar.history
    select_history(qtbot, window, entry_id)
    strip = history.opened_under()
    assert strip is not None
    idle(qtbot, window)
    # Right under the row: its top is the row's bottom (within the cell's padding).
    table = history.table
    row = next(i for i, r in enumerate(history._rows) if r.payload.entry_id == entry_id)
    row_bottom = table.rowViewportPosition(row) + table.rowHeight(row)
    top = strip.mapTo(table.viewport(), QPoint(0, 0)).y()
    assert row_bottom <= top <= row_bottom + 8, (top, row_bottom)
    amend, void = button_named(window, "amendNote"), button_named(window, "voidEntry")
    assert amend.parentWidget() is strip and void.parentWidget() is strip
    assert small_targets(window.mar) == []  # the row's buttons are touch-sized too

    # On screen as it opened, not behind the status bar: what a finger finds there is it.
    assert QApplication.widgetAt(void.mapToGlobal(void.rect().center())) is void
    tap(qtbot, void)
    dialog = open_dialog(qtbot)
    named = dialog.entry.text()
    for words in ("Mon 05 Jan 08:00", "Metoprolol tartrate 25 mg tablet", "Given 25 mg",
                  "by Marisol Ortega, RN"):
        assert words in named, (words, named)
    sent: list[object] = []
    dialog.submitted.connect(sent.append)
    tap(qtbot, dialog.ok)  # no reason yet: said under the reason, nothing sent
    assert sent == [] and "why" in dialog.field_error()
    assert dialog.reason.property("invalid") is True
    dialog.reason.setPlainText("Charted against the wrong order.")
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: records(facility, "o-meto")[0].voided)
    wait(qtbot, lambda: "Entry voided: Mon 05 Jan 08:00" in window.mar.banner.text())
    idle(qtbot, window)
    assert history.opened_under() is None  # the re-read closed the actions


def test_a_second_tap_closes_the_actions_and_a_read_only_role_gets_none(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    entry_id = record_dose(qtbot, window, facility)
    select_history(qtbot, window, entry_id)
    assert window.mar.history.opened_under() is not None
    select_history(qtbot, window, entry_id)
    assert window.mar.history.opened_under() is None

    window.sign_out()
    sign_in(qtbot, window, facility, "surveyor")
    open_resident_by_wristband(qtbot, window, "WB100001")
    select_history(qtbot, window, entry_id)
    assert window.mar.history.opened_under() is None
    assert window.mar.findChild(QPushButton, "voidEntry") is None
