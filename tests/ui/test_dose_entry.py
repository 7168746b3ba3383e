"""The dose on the administration screen: a tenfold dose typed into a 25 mg order is refused
under the dose field (not in a dialog, not twice), nothing is recorded; the ordered dose is
recorded, and what the Confirm button said is what the entry holds."""

from __future__ import annotations

from mar_desktop.clinical.routes import route_words
from mar_desktop.model import Outcome
from tests.ui.harness import METOPROLOL_GTIN, Facility1, med_scan
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, tap, wait
from tests.ui.test_med_pass import records
from ui.main_window import MainWindow


def test_a_tenfold_dose_is_refused_at_the_field_and_the_confirmation_is_what_is_signed(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    scan(qtbot, window.mar.scan, med_scan(METOPROLOL_GTIN))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    idle(qtbot, window)
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    confirm_text = " ".join(admin.confirm.text().split())  # in lines as its width needs
    assert confirm_text == "Confirm: ✓ Given – Metoprolol tartrate 25 mg tablet × 1 = 25 mg oral"

    dose = admin.form.fields["dose"]
    dose.setText("250")
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: admin.form.field_error("dose") != "")
    idle(qtbot, window)
    message = admin.form.field_error("dose")
    assert "25 mg" in message and "250 mg" in message
    assert dose.property("invalid") is True and dose.hasFocus()
    assert not admin.banner.isVisible() or "25 mg" not in admin.banner.text()
    assert records(facility, "o-meto") == []
    assert window.stack.currentWidget() is admin

    qtbot.keyClick(dose, "a")  # type: ignore[attr-defined]
    assert admin.form.field_error("dose") == ""  # typing clears the mark
    dose.setText("25")
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: records(facility, "o-meto"))
    (record,) = records(facility, "o-meto")
    assert record.route == "PO"  # the order's words are signed; the screen says them in full
    signed = f"= {record.dose_given:f} {record.dose_unit} {route_words(record.route)}"
    assert confirm_text.endswith(signed), (confirm_text, signed)
