"""How many taps a dose takes after the scans, counted as a nurse makes them (real mouse clicks
on the widgets; no typing): a routine scheduled dose at most 3, a PRN no more than Given, a
reason picked from the offered ones, the pain score when assessed, Confirm."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from mar_desktop.model import Outcome
from tests.ui.harness import METOPROLOL_GTIN, OTHER_GTIN, Facility1, med_scan
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, tap, wait
from tests.ui.test_med_pass import records
from ui.main_window import MainWindow
from ui.screens.administration import AdministrationScreen
from ui.widgets.choices import ChoiceRow


class Taps:
    """A finger that counts: every tap goes through :func:`tests.ui.steps.tap`."""

    def __init__(self, qtbot: object) -> None:
        self._qtbot = qtbot
        self.count = 0

    def __call__(self, widget: QWidget) -> None:
        self.count += 1
        tap(self._qtbot, widget)


def scanned_dose(qtbot: object, window: MainWindow, gtin: str,
                 ready: Callable[[], object]) -> None:
    """The two scans: the wristband on the overview, then the package on the MAR."""
    open_resident_by_wristband(qtbot, window, "WB100001")
    scan(qtbot, window.mar.scan, med_scan(gtin))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓") and ready())
    idle(qtbot, window)


def prn_given(qtbot: object, window: MainWindow, facility: Facility1
              ) -> tuple[AdministrationScreen, ChoiceRow, Taps]:
    """Signed in, the PRN scanned and "Given" tapped (counted) on the finger returned."""
    sign_in(qtbot, window, facility, "nurse")
    admin = window.administration
    scanned_dose(qtbot, window, OTHER_GTIN, lambda: admin.form.prn_choices is not None)
    finger = Taps(qtbot)
    finger(admin.form.outcome_buttons[Outcome.GIVEN])
    choices = admin.form.prn_choices
    assert choices is not None
    return admin, choices, finger


def test_a_routine_scheduled_dose_takes_two_taps_after_the_scans(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    scanned_dose(qtbot, window, METOPROLOL_GTIN, lambda: True)
    admin, finger = window.administration, Taps(qtbot)
    finger(admin.form.outcome_buttons[Outcome.GIVEN])
    finger(admin.confirm)
    wait(qtbot, lambda: records(facility, "o-meto"))
    assert finger.count == 2 <= 3
    (record,) = records(facility, "o-meto")
    assert record.outcome is Outcome.GIVEN and record.dose_given == 25


def test_a_prn_takes_given_a_picked_reason_the_pain_score_and_confirm(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    admin, choices, finger = prn_given(qtbot, window, facility)
    pain_reason = next(b for b in choices.buttons() if b.accessibleName() == "Pain")
    finger(pain_reason)
    assert admin.form.entry("prn_reason") == "Pain"  # the tap filled the reason in
    six = admin.form.fields["pain"].buttons()[6]
    finger(six)
    finger(admin.confirm)
    wait(qtbot, lambda: records(facility, "o-prn"))
    assert finger.count == 4  # Given, reason, pain score, Confirm: nothing typed
    (record,) = records(facility, "o-prn")
    assert record.outcome is Outcome.GIVEN
    assert record.prn_reason == "Pain" and record.pain_score == 6


def test_a_prn_without_a_pain_score_takes_three_taps(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    admin, choices, finger = prn_given(qtbot, window, facility)
    finger(next(b for b in choices.buttons() if b.accessibleName() == "Fever"))
    finger(admin.confirm)
    wait(qtbot, lambda: records(facility, "o-prn"))
    assert finger.count == 3
    (record,) = records(facility, "o-prn")
    assert record.prn_reason == "Fever" and record.pain_score is None
