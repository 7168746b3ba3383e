"""Bedside checks through the UI: wrong resident and wrong medication blocked, a held insulin
dose with low glucose, a Schedule II dose refused without a witness and recorded with one."""

from __future__ import annotations

from datetime import timedelta

from mar_desktop.model import Outcome
from tests.ui.harness import (
    INSULIN_GTIN,
    METOPROLOL_GTIN,
    OXYCODONE_GTIN,
    PASSWORD,
    Facility1,
    med_scan,
)
from tests.ui.steps import (
    idle,
    open_dialog,
    open_resident_by_wristband,
    record_gui_lag,
    scan,
    sign_in,
    tap,
    wait,
)
from ui.lag import EventLoopLagMonitor
from ui.main_window import MainWindow


def given_records(facility: Facility1, order_id: str):
    now = facility.clock.now()
    return [r for r in facility.store.reader().administrations(
        since=now - timedelta(days=1), until=now + timedelta(days=1)) if r.order_id == order_id]


def start_dose(qtbot, window: MainWindow, wristband: str, gtin: str) -> None:
    open_resident_by_wristband(qtbot, window, wristband)
    scan(qtbot, window.mar.scan, med_scan(gtin))
    wait(qtbot, lambda: window.stack.currentWidget() is window.administration)
    idle(qtbot, window)


def test_wrong_resident_and_wrong_medication_are_blocked(
    qtbot, window: MainWindow, facility: Facility1, lag: EventLoopLagMonitor
):
    sign_in(qtbot, window, facility, "nurse")
    start_dose(qtbot, window, "WB100001", METOPROLOL_GTIN)
    admin = window.administration
    # Another resident's wristband: blocked with the reason.
    scan(qtbot, admin.scan, "WB100002")
    idle(qtbot, window)
    assert "Wrong resident" in admin.banner.text() and "BLOCKED" in admin.banner.text()
    assert not admin.form.outcome_buttons[Outcome.GIVEN].isEnabled()
    # The wrong product: blocked too.
    scan(qtbot, admin.scan, "WB100001")
    idle(qtbot, window)
    assert admin.form.outcome_buttons[Outcome.GIVEN].isEnabled()
    scan(qtbot, admin.scan, med_scan(INSULIN_GTIN))
    idle(qtbot, window)
    assert "Wrong medication" in admin.banner.text()
    assert not admin.form.outcome_buttons[Outcome.GIVEN].isEnabled()
    # An expired lot of the right product: blocked with the date.
    scan(qtbot, admin.scan, med_scan(METOPROLOL_GTIN, expiry="250101"))
    idle(qtbot, window)
    assert "expired on 2025-01-01" in admin.banner.text()
    assert not admin.confirm.isEnabled()
    # On the MAR screen, a product no dose is due for is refused as well.
    tap(qtbot, window.findChild(object, "adminBack"))
    scan(qtbot, window.mar.scan, med_scan(INSULIN_GTIN))
    idle(qtbot, window)
    assert "Wrong medication" in window.mar.banner.text()
    assert window.stack.currentWidget() is window.mar
    assert given_records(facility, "o-meto") == []
    record_gui_lag(lag)


def test_low_glucose_holds_the_insulin(
    qtbot, window: MainWindow, facility: Facility1, lag: EventLoopLagMonitor
):
    sign_in(qtbot, window, facility, "nurse")
    start_dose(qtbot, window, "WB100002", INSULIN_GTIN)
    admin = window.administration
    admin._fields["vital_glucose"].setText("55")
    assert "HOLD this dose" in admin.banner.text() and "glucose 55 below 70" in admin.banner.text()
    assert not admin.form.outcome_buttons[Outcome.GIVEN].isEnabled()
    assert admin.outcome() is Outcome.HELD
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: given_records(facility, "o-ins"))
    (record,) = given_records(facility, "o-ins")
    assert record.outcome is Outcome.HELD and record.reason_code == "H"
    assert record.vitals == {"glucose": "55"}
    # The MAR's history says it in words: the reason's label, not its code.
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar and any(
        "Reason: Held: outside hold parameters" in t for t in window.mar.history.texts()))
    held = next(t for t in window.mar.history.texts() if "Held" in t)
    assert "Reason: H\n" not in held + "\n" and "Vitals: Glucose 55" in held
    record_gui_lag(lag)


def test_schedule_ii_needs_a_witness(
    qtbot, window: MainWindow, facility: Facility1, lag: EventLoopLagMonitor
):
    sign_in(qtbot, window, facility, "nurse")
    start_dose(qtbot, window, "WB100002", OXYCODONE_GTIN)
    admin = window.administration
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: "witness" in admin.form.field_error("witness").lower())
    idle(qtbot, window)
    assert given_records(facility, "o-oxy") == []
    tap(qtbot, window.findChild(object, "witnessSignIn"))
    dialog = open_dialog(qtbot)
    dialog.username.setText("nurse2")
    dialog.password.setText(PASSWORD)
    dialog.code.setText(facility.code("nurse2"))
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: admin.witness_state.text().startswith("✓ Tobias Brandt"))
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: given_records(facility, "o-oxy"))
    (record,) = given_records(facility, "o-oxy")
    assert record.outcome is Outcome.GIVEN and record.witness_user_id == "u-nurse2"
    record_gui_lag(lag)


def test_an_unknown_barcode_gets_its_own_message_and_blocks_nothing(
    qtbot, window: MainWindow, facility: Facility1
):
    """A garbage scan after the right wristband is neither a wrong resident nor a block."""
    sign_in(qtbot, window, facility, "nurse")
    start_dose(qtbot, window, "WB100001", METOPROLOL_GTIN)
    admin = window.administration
    scan(qtbot, admin.scan, "WB100001")
    idle(qtbot, window)
    assert admin.form.outcome_buttons[Outcome.GIVEN].isEnabled()
    scan(qtbot, admin.scan, "zz-garbage-42")
    idle(qtbot, window)
    said = admin.banner.text()
    assert "not a wristband or a medication this app knows" in said
    assert "Wrong resident" not in said and "BLOCKED" not in said
    assert admin.form.outcome_buttons[Outcome.GIVEN].isEnabled()
    scan(qtbot, admin.scan, "WB100002")  # another resident's band is still a wrong resident
    idle(qtbot, window)
    assert "Wrong resident" in admin.banner.text() and "BLOCKED" in admin.banner.text()


def test_no_known_allergies_is_not_shown_as_an_alarm(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    start_dose(qtbot, window, "WB100002", INSULIN_GTIN)  # Bernard Osei: no allergies
    line = window.administration.bedside.allergy
    assert line.text() == "No known allergies" and line.property("none") is True
    window.administration._cancel()
    start_dose(qtbot, window, "WB100001", METOPROLOL_GTIN)  # Agnes Holloway: penicillin
    assert "Penicillin" in line.text() and line.property("none") is False
