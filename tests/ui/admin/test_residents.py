from __future__ import annotations

from decimal import Decimal

from mar_desktop.envelope import parse_raw
from tests.ui.admin.steps import dialog_of, open_section, run_reason_dialog, select_row, submit
from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, tap, wait
from ui.admin.base import ReasonDialog
from ui.admin.order_dialog import OrderDialog
from ui.admin.resident_dialogs import ResidentDialog
from ui.main_window import MainWindow


def _reader(window: MainWindow, facility: Facility1):  # type: ignore[no-untyped-def]
    return lambda fn: window.runner.run_on_worker(lambda: fn(facility.store.reader()))


def test_admit_resident_and_add_insulin_with_hold_parameter(qtbot, window: MainWindow,
                                                            facility: Facility1):
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_residents")
    tap(qtbot, window.findChild(type(screen.order_actions["add"]), "admitResident"))
    dialog = dialog_of(qtbot, ResidentDialog)
    dialog.given.setText("Dorothea")
    dialog.family.setText("Vance")
    dialog.room.setText("")  # left empty: shown next to the field
    dialog.wristband.setText("WB300001")
    dialog.allergy_editor.add_row("Sulfa", "rash", "moderate")
    tap(qtbot, dialog.ok)
    assert "Required" in dialog.error_texts()["room"]
    dialog.room.setText("105")
    submit(qtbot, window, dialog)
    wait(qtbot, lambda: not dialog.isVisible())
    idle(qtbot, window)
    resident = screen.selected_resident()
    assert resident is not None and resident.family_name == "Vance"
    assert resident.allergies[0].severity == "moderate"
    tap(qtbot, screen.order_actions["add"])
    order_form = dialog_of(qtbot, OrderDialog)
    order_form.drug.setText("Insulin lispro")
    order_form.strength.setText("100 units/mL")
    order_form.codes.setText("0002-7510-01")
    order_form.dose.setText("4")
    order_form.dose_unit.setText("units")
    order_form.route.setCurrentText("SC")
    order_form.times.setText("07:30, 11:30, 17:30")
    order_form.site_required.setChecked(True)
    order_form.time_critical.setChecked(True)
    order_form.hold_editor.add_row()
    order_form.hold_editor.set_row(0, "glucose", "", "")
    tap(qtbot, order_form.ok)  # a hold parameter without limits is refused at the field
    assert "limit" in order_form.error_texts()["hold"]
    order_form.hold_editor.set_row(0, "glucose", "70", "")
    order_form.times.setText("7:30, 25:00")
    tap(qtbot, order_form.ok)
    assert "24-hour clock" in order_form.error_texts()["times"]
    order_form.times.setText("07:30, 11:30, 17:30")
    submit(qtbot, window, order_form)
    wait(qtbot, lambda: not order_form.isVisible())
    idle(qtbot, window)
    read = _reader(window, facility)
    orders = read(lambda r: r.orders([resident.resident_id]))
    assert len(orders) == 1
    order = orders[0].order
    assert order.drug == "Insulin lispro" and order.ndcs == ("0002-7510-01",)
    assert order.hold_parameters[0].vital == "glucose"
    assert order.hold_parameters[0].minimum == Decimal("70")
    assert order.schedule.times == ("07:30", "11:30", "17:30") and order.site_required
    assert any("Insulin lispro" in (screen.order_table.item(r, 0).text())
               for r in range(screen.order_table.rowCount()))

    # Bactrim for a resident allergic to sulfa: refused with the warning until acknowledged,
    # and the acknowledgement is written into the order's audit entry.
    tap(qtbot, screen.order_actions["add"])
    bactrim = dialog_of(qtbot, OrderDialog)
    bactrim.drug.setText("Bactrim DS")
    bactrim.strength.setText("800 mg")
    bactrim.dose.setText("1")
    bactrim.dose_unit.setText("tablet")
    bactrim.route.setCurrentText("PO")
    bactrim.times.setText("08:00, 20:00")
    submit(qtbot, window, bactrim)
    wait(qtbot, lambda: "sulfamethoxazole" in bactrim.banner.text())
    assert bactrim.isVisible() and bactrim.allergy_ack.isVisible()
    assert len(read(lambda r: r.orders([resident.resident_id]))) == 1
    bactrim.allergy_ack.setChecked(True)
    submit(qtbot, window, bactrim)
    wait(qtbot, lambda: not bactrim.isVisible())
    idle(qtbot, window)
    assert len(read(lambda r: r.orders([resident.resident_id]))) == 2

    def audit_details() -> list[str]:
        conn = facility.store.connect_reader()
        try:
            rows = conn.execute("SELECT raw FROM audit").fetchall()
        finally:
            conn.close()
        return [str(parse_raw(bytes(r[0])).body.get("detail", "")) for r in rows]

    details = window.runner.run_on_worker(audit_details)
    assert any("allergy warning acknowledged: Allergy recorded: Sulfa" in d for d in details)


def test_discontinue_an_order_with_a_reason(qtbot, window: MainWindow, facility: Facility1):
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_residents")
    select_row(qtbot, screen.table, "Osei", column=1)
    idle(qtbot, window)
    screen.select_order("Insulin glargine")
    tap(qtbot, screen.order_actions["discontinue"])
    dialog = dialog_of(qtbot, ReasonDialog)
    tap(qtbot, dialog.ok)  # no reason: refused at the field, nothing sent
    assert "Required" in dialog.error_texts()["reason"]
    dialog.reason.setPlainText("Changed to oral agent per Dr. Lee")
    submit(qtbot, window, dialog)
    wait(qtbot, lambda: not dialog.isVisible())
    idle(qtbot, window)
    state = _reader(window, facility)(lambda r: r.order("o-ins"))
    assert state.status.value == "discontinued"
    statuses = [screen.order_table.item(r, 3).text() for r in range(screen.order_table.rowCount())]
    assert "⊘ Discontinued" in statuses
    # hold then resume another order, each with its reason
    screen.select_order("Oxycodone")
    run_reason_dialog(qtbot, window, screen.order_actions["hold"], "NPO for procedure")
    assert _reader(window, facility)(lambda r: r.order("o-oxy")).status.value == "held"
    screen.select_order("Oxycodone")
    run_reason_dialog(qtbot, window, screen.order_actions["resume"], "Procedure done")
    assert _reader(window, facility)(lambda r: r.order("o-oxy")).status.value == "active"
