"""Words, not codes, on screen: the route as the nurse says it ("oral", not "PO"), reasons by
their label, vitals by name; a PRN's last dose with its date when it was not today; the
sign-in throttle said once and counted down, and a refusal about one account gone once
another is picked."""

from __future__ import annotations

from datetime import timedelta

from mar_desktop.model import Outcome
from mar_desktop.permissions import Principal
from mar_desktop.services.recording import AdministrationRequest
from tests.ui.harness import INSULIN_GTIN, PASSWORD, Facility1, med_scan
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, tap, visible_texts, wait
from ui.main_window import MainWindow
from ui.tasks import TaskRunner


def test_routes_reasons_and_vitals_are_in_words(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100002")  # insulin SC, oxycodone PO
    texts = visible_texts(window.mar)
    assert any("10 units subcutaneous" in t for t in texts)
    assert any("5 mg oral" in t for t in texts)
    assert not any(t.endswith((" PO", " SC")) or " PO " in t or " SC " in t for t in texts)
    scan(qtbot, window.mar.scan, med_scan(INSULIN_GTIN))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin and "reason" in admin._fields)
    idle(qtbot, window)
    tap(qtbot, admin.form.outcome_buttons[Outcome.HELD])
    reason = admin._fields["reason"]
    labels = [reason.itemText(i) for i in range(1, reason.count())]
    assert labels == ["Held: outside hold parameters", "Held per prescriber", "Nothing by mouth"]
    caption = admin.form.details.labelForField(admin._fields["vital_glucose"])
    assert caption.text() == "Glucose"
    assert "subcutaneous" in admin.bedside.order_detail.text()


def test_a_prn_given_days_ago_shows_the_date_of_its_last_dose(
    qtbot: object, window: MainWindow, facility: Facility1, runner: TaskRunner
) -> None:
    def give_three_days_ago() -> None:
        nurse = facility.store.reader().user("u-nurse")
        assert nurse is not None
        facility.backend.recording.record_administration(
            Principal(user=nurse, device_id=facility.store.device_id),
            AdministrationRequest(resident_id="r1", order_id="o-prn", outcome=Outcome.GIVEN,
                                  identity_confirmed=True, medication_confirmed=True,
                                  wristband_bypass_reason="band_missing",
                                  medication_bypass_reason="barcode_damaged",
                                  prn_reason="Headache"),
        )

    runner.run_on_worker(give_three_days_ago)  # Monday 08:00
    facility.clock.advance(timedelta(days=3, hours=2))  # Thursday 10:00
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    (row,) = window.mar.prn.texts()
    assert "last Mon 05 Jan 08:00" in row, row


def test_the_throttle_counts_down_once_and_another_account_clears_it(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    login = window.login
    now = [1000.0]
    login.now = lambda: now[0]

    def attempt(username: str, password: str) -> None:
        login.username.setText(username)
        login.password.setText(password)
        tap(qtbot, login.sign_in_button)
        idle(qtbot, window)

    for _ in range(5):
        attempt("nurse", "wrong password, wrong password")
    attempt("nurse", PASSWORD)  # too soon after five failures: throttled for 2 s
    wait(qtbot, lambda: "Try again" in login.banner.text())
    shown = login.banner.text()
    assert shown.count("Try again") == 1 and "in 2 seconds" in shown, shown
    now[0] += 1.2
    login._countdown.timeout.emit()  # what the owned one-second timer does
    assert "Try again in 1 second." in login.banner.text()
    now[0] += 1.0
    login._countdown.timeout.emit()
    assert "try to sign in again now" in login.banner.text()
    assert not login._countdown.isActive()

    attempt("nurse", "wrong password, wrong password")  # throttled again, longer
    wait(qtbot, lambda: "Try again" in login.banner.text())
    assert login._countdown.isActive()
    login.username.setText("nurse2")  # another account: the old message goes
    assert not login.banner.isVisible() and not login._countdown.isActive()
