"""Shift assignment on the screens: a CNA's pass list and overview show only her assigned
rooms with the "Assigned" line; the whole unit needs a reason (audited); a resident outside the
assignment opens only after a reason (audited), and cancelling opens nothing; a nurse assigns
rooms from the overview's dialog, which fits every window size."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from mar_desktop import kinds
from mar_desktop.permissions import Principal
from mar_desktop.services.assignment import AssignmentService
from mar_desktop.services.base import Ports
from mar_desktop.services.mar import MarService
from tests.ui.harness import Facility1
from tests.ui.layout_checks import problems, small_targets
from tests.ui.steps import idle, open_dialog, scan, sign_in, tap, wait
from ui.main_window import MainWindow
from ui.screens.assign_rooms import AssignRoomsDialog
from ui.screens.assignment_bar import ReasonDialog


def assign_cna(window: MainWindow, facility: Facility1, *rooms: str) -> None:
    """The charge nurse assigns the CNA (on Rose Wing: rooms 101 and 102) ``rooms``, on
    another tablet's services (the worker thread: no store work on the GUI thread)."""

    def assign() -> None:
        ports = Ports(facility.store.ledger, facility.store.reader, facility.clock)
        service = AssignmentService(ports, MarService(ports).assignment_scope)
        nurse = facility.store.reader().user_by_username("nurse")
        assert nurse is not None
        service.assign(Principal(user=nurse, device_id=facility.store.device_id), "u-cna",
                       "unit-a", rooms=list(rooms))

    window.runner.run_on_worker(assign)


def rows_of(window: MainWindow, facility: Facility1, sql: str, *args: object) -> list[tuple]:
    """``sql``'s rows, read on the worker (no store work on the GUI thread)."""

    def read() -> list[tuple]:
        conn = facility.store.connect_reader()
        try:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    return window.runner.run_on_worker(read)  # type: ignore[no-any-return]


def audited(window: MainWindow, facility: Facility1, action: str) -> list[dict[str, object]]:
    rows = rows_of(window, facility, "SELECT json_extract(raw, '$.body') FROM audit "
                   "WHERE kind = ? ORDER BY seq", f"audit.{action}")
    return [json.loads(r[0]) for r in rows]


def open_pass(qtbot: object, window: MainWindow) -> None:
    tap(qtbot, window.nav["pass"])
    wait(qtbot, lambda: window.pass_list.found is not None)
    idle(qtbot, window)


def test_the_pass_list_and_overview_show_only_the_assigned_rooms_with_the_line(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    assign_cna(window, facility, "101")
    sign_in(qtbot, window, facility, "cna")
    idle(qtbot, window)
    assert [window.overview.table.item(r, 0).text()
            for r in range(window.overview.table.rowCount())] == ["101"]
    bar = window.overview.assignment
    assert bar.isVisible()
    assert bar.text.text() == "Assigned: room 101 (set by Marisol Ortega)"
    assert not window.overview.assign_button.isVisible()  # a CNA assigns no one
    open_pass(qtbot, window)
    assert {row[1] for row in window.pass_list.rows()} == {"101"}
    assert window.pass_list.assignment.text.text().startswith("Assigned: room 101")


def test_the_whole_unit_needs_a_reason_which_is_audited(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    assign_cna(window, facility, "101")
    sign_in(qtbot, window, facility, "cna")
    open_pass(qtbot, window)
    tap(qtbot, window.pass_list.assignment.switch)
    dialog = open_dialog(qtbot)
    assert isinstance(dialog, ReasonDialog)
    tap(qtbot, dialog.ok)  # no reason: asked for under the field, nothing sent
    assert "reason" in dialog.field_error().lower()
    assert audited(window, facility, "assignment_widened") == []
    dialog.reason.setPlainText("only aide on the wing until 15:00")
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: not dialog.isVisible())
    wait(qtbot, lambda: {row[1] for row in window.pass_list.rows()} == {"101", "102"})
    [record] = audited(window, facility, "assignment_widened")
    assert record["detail"] == "only aide on the wing until 15:00"
    assert window.pass_list.assignment.text.text().startswith("Showing the whole unit.")
    tap(qtbot, window.pass_list.assignment.switch)  # back: narrows at once, no reason needed
    wait(qtbot, lambda: {row[1] for row in window.pass_list.rows()} == {"101"})


def test_a_resident_outside_the_assignment_opens_only_with_a_reason(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    assign_cna(window, facility, "101")
    sign_in(qtbot, window, facility, "cna")
    scan(qtbot, window.overview.scan, "WB100002")  # Bernard Osei, room 102: not assigned
    dialog = open_dialog(qtbot)
    assert isinstance(dialog, ReasonDialog)
    assert "not on your assignment" in " ".join(
        w.text() for w in dialog.findChildren(type(window.overview.assignment.text)))
    dialog.reject()  # no reason: nothing opens, nothing recorded
    wait(qtbot, lambda: "Not opened" in window.mar.banner.text())
    assert window.mar.data is None
    assert audited(window, facility, "outside_assignment_opened") == []
    assert "r2" not in [r["entity_id"] for r in audited(window, facility, "resident_viewed")]

    scan(qtbot, window.mar.scan, "WB100002")  # the MAR's scan field hands over to the overview
    idle(qtbot, window)
    if window.mar.outside_dialog is None or not window.mar.outside_dialog.isVisible():
        window.show_overview()
        idle(qtbot, window)
        scan(qtbot, window.overview.scan, "WB100002")
    dialog = open_dialog(qtbot)
    assert isinstance(dialog, ReasonDialog)
    dialog.reason.setPlainText("helping with a transfer")
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: window.mar.data is not None)
    assert window.mar.data.mar.resident.resident_id == "r2"  # type: ignore[union-attr]
    [record] = audited(window, facility, "outside_assignment_opened")
    assert (record["entity_id"], record["detail"]) == ("r2", "helping with a transfer")
    assert "r2" in [r["entity_id"] for r in audited(window, facility, "resident_viewed")]


def test_a_nurse_assigns_rooms_from_the_overview(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    tap(qtbot, window.overview.assign_button)
    dialog = open_dialog(qtbot)
    assert isinstance(dialog, AssignRoomsDialog)
    wait(qtbot, lambda: dialog.rooms.count() > 0)
    idle(qtbot, window)
    dialog.person.setCurrentIndex(dialog.person.findData("u-cna"))
    dialog.unit.setCurrentIndex(dialog.unit.findData("unit-a"))
    wait(qtbot, lambda: [dialog.rooms.item(i).data(Qt.ItemDataRole.UserRole)
                         for i in range(dialog.rooms.count())] == ["101", "102"])
    idle(qtbot, window)
    assert "This shift" in dialog.this_shift.text() and dialog.this_shift.isChecked()
    tap(qtbot, dialog.ok)  # nothing chosen yet: said on the form, nothing sent
    assert dialog.banner.message is not None
    item = dialog.rooms.item(1)
    rect = dialog.rooms.visualItemRect(item)
    qtbot.mouseClick(dialog.rooms.viewport(), Qt.MouseButton.LeftButton,  # type: ignore[attr-defined]
                     pos=rect.center())
    assert item.checkState() == Qt.CheckState.Checked  # the whole row toggles
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: not dialog.isVisible())
    [raw] = rows_of(window, facility, "SELECT raw FROM ledger WHERE kind = ?",
                    kinds.SHIFT_ASSIGNED)
    entry = json.loads(bytes(raw[0]))
    assert entry["body"]["rooms"] == ["102"] and entry["body"]["user_id"] == "u-cna"
    assert entry["actor"]["user_id"] == "u-nurse"
    [record] = audited(window, facility, "shift_assigned")
    assert record["entity_id"] == "u-cna"


@pytest.mark.parametrize("size", [(1280, 800), (800, 1280), (1920, 1080)])
def test_the_assign_dialog_fits_every_window_size(
    qtbot: object, window: MainWindow, facility: Facility1, size: tuple[int, int]
) -> None:
    window.resize(*size)
    sign_in(qtbot, window, facility, "nurse")
    tap(qtbot, window.overview.assign_button)
    dialog = open_dialog(qtbot)
    wait(qtbot, lambda: dialog.rooms.count() > 0)  # type: ignore[attr-defined]
    idle(qtbot, window)
    assert dialog.height() <= size[1] and dialog.width() <= size[0]
    assert problems(dialog, dialog) == []
    assert small_targets(dialog) == []


@pytest.mark.parametrize("size", [(1280, 800), (800, 1280), (1920, 1080)])
def test_the_assigned_line_and_its_switch_fit_every_window_size(
    qtbot: object, window: MainWindow, facility: Facility1, size: tuple[int, int]
) -> None:
    assign_cna(window, facility, "101", "102")
    window.resize(*size)
    sign_in(qtbot, window, facility, "cna")
    idle(qtbot, window)
    assert window.overview.assignment.isVisible()
    assert problems(window.overview, window) == []
    open_pass(qtbot, window)
    assert window.pass_list.assignment.text.text() == (
        "Assigned: rooms 101–102 (set by Marisol Ortega)")
    assert problems(window.pass_list, window) == []
