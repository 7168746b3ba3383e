"""The med pass screen: the unit's doses in room order with their counts, only the user's units,
a tap opening that dose's administration screen, nothing left on screen after a lock."""

from __future__ import annotations

from datetime import timedelta

from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, tap, wait
from ui.main_window import MainWindow


def open_pass(qtbot: object, window: MainWindow) -> None:
    tap(qtbot, window.nav["pass"])
    wait(qtbot, lambda: window.pass_list.found is not None)
    idle(qtbot, window)


def test_the_pass_lists_every_due_dose_in_room_order_with_its_counts(
    qtbot, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    open_pass(qtbot, window)
    rows = window.pass_list.rows()
    assert [(room, status) for _time, room, _name, _med, status in rows] == [
        ("101", "● Due now"), ("102", "● Due now"), ("102", "● Due now"), ("201", "● Due now")]
    assert all(time == "08:00" for time, *_rest in rows)
    assert "Metoprolol tartrate" in rows[0][3] and "25 mg" in rows[0][3]
    summary = window.pass_list.summary.text()
    assert "4 due now" in summary and "0 late" in summary and "0 done" in summary


def test_a_dose_late_after_its_window_is_listed_as_late(
    qtbot, window: MainWindow, facility: Facility1
) -> None:
    facility.clock.advance(timedelta(hours=2, minutes=30))  # 10:30: the 08:00 window has shut
    sign_in(qtbot, window, facility, "nurse")
    open_pass(qtbot, window)
    assert {row[4] for row in window.pass_list.rows()} == {"⚠ LATE"}
    assert "4 late" in window.pass_list.summary.text()


def test_a_cna_sees_the_pass_of_her_unit_only(
    qtbot, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "cna")
    open_pass(qtbot, window)
    assert {row[1] for row in window.pass_list.rows()} == {"101", "102"}
    assert window.pass_list.unit_filter.unit_names() == ["My unit", "Rose Wing"]


def test_tapping_a_dose_opens_its_administration_screen(
    qtbot, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    open_pass(qtbot, window)
    row = next(i for i, r in enumerate(window.pass_list.rows()) if "Metoprolol" in r[3])
    rect = window.pass_list.table.visualRect(window.pass_list.model.index(row, 2))
    from PySide6.QtCore import Qt

    qtbot.mouseClick(window.pass_list.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.center())
    wait(qtbot, lambda: window.stack.currentWidget() is window.administration)
    target = window.administration._target
    assert target is not None and target.state.order.order_id == "o-meto"
    assert window.nav["pass"].isChecked()


def test_a_lock_empties_the_pass(qtbot, window: MainWindow, facility: Facility1) -> None:
    sign_in(qtbot, window, facility, "nurse")
    open_pass(qtbot, window)
    assert window.pass_list.rows()
    window.lock_now()
    idle(qtbot, window)
    assert window.pass_list.rows() == [] and window.pass_list.summary.text() == ""
