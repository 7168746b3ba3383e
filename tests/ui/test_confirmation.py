"""Feedback a nurse can trust: after Confirm the MAR names what was signed (drug, dose and
unit, outcome, time, resident, signer) and highlights its rows; the outcome buttons show one
choice, and none before a tap (also after a hold switched Given to Held); every input problem
is shown under its field, never in an error box; an out-of-unit wristband says which unit and
nothing about the resident."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QPushButton

from mar_desktop.model import Outcome
from tests.ui.harness import INSULIN_GTIN, METOPROLOL_GTIN, OTHER_GTIN, Facility1, med_scan
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


def start(qtbot: object, window: MainWindow, wristband: str, gtin: str) -> None:
    open_resident_by_wristband(qtbot, window, wristband)
    scan(qtbot, window.mar.scan, med_scan(gtin))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    idle(qtbot, window)


def filled(button: QPushButton) -> bool:
    """Whether the button is drawn filled (a dark background), looked at on screen: a pixel
    inside its border, left of its text."""
    image = button.grab().toImage()
    colour = QColor(image.pixel(8, image.height() // 2))
    return colour.lightness() < 160


def test_after_confirm_the_mar_says_what_was_signed_and_highlights_it(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    start(qtbot, window, "WB100001", METOPROLOL_GTIN)
    admin = window.administration
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar and records(facility, "o-meto"))
    (record,) = records(facility, "o-meto")
    mar = window.mar
    wait(qtbot, lambda: mar.data is not None
         and any(r.payload.entry_id == record.entry_id for r in mar.history._rows))
    idle(qtbot, window)
    shown = mar.confirmation.text()
    assert mar.confirmation.isVisible()
    margins = mar.confirmation.contentsMargins()  # the text inside its border, not jammed
    assert margins.top() >= 10 and margins.left() >= 14
    for words in ("Signed and saved", "Given", "Metoprolol tartrate 25 mg tablet", "25 mg oral",
                  "at 08:00", "Holloway, Agnes (Room 101)", "signed by Marisol Ortega, RN"):
        assert words in shown, (words, shown)
    (row,) = [r for r in mar.history._rows if r.payload.entry_id == record.entry_id]
    assert row.highlight and "just signed" in row.cells[0]
    (done,) = mar.done._rows
    assert done.highlight
    # The confirmation outlives the MAR's re-read, and goes once the nurse moves on.
    mar.refresh()
    idle(qtbot, window)
    assert mar.confirmation.isVisible()
    scan(qtbot, mar.scan, "WB100001")
    idle(qtbot, window)
    assert not mar.confirmation.isVisible()
    assert not any(r.highlight for r in mar.history._rows)


def test_only_the_chosen_outcome_looks_chosen_also_after_a_hold(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    start(qtbot, window, "WB100002", INSULIN_GTIN)
    form = window.administration.form
    buttons = form.outcome_buttons
    assert form.outcome() is None
    assert all(b.text().startswith("○") and not filled(b) for b in buttons.values())
    tap(qtbot, buttons[Outcome.GIVEN])
    assert buttons[Outcome.GIVEN].text() == "● Given" and filled(buttons[Outcome.GIVEN])
    # A vital outside the hold parameters switches the dose to Held: Given no longer looks
    # chosen in any way, Held does.
    qtbot.keyClicks(form.fields["vital_glucose"], "55")  # type: ignore[attr-defined]
    idle(qtbot, window)
    assert form.outcome() is Outcome.HELD
    looks_chosen = [o for o, b in buttons.items() if b.text().startswith("●") or filled(b)]
    assert looks_chosen == [Outcome.HELD]
    assert form.fields["reason"].currentText() == "Held: outside hold parameters"  # words


def test_input_problems_show_under_their_field_never_in_an_error_box(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    start(qtbot, window, "WB100001", OTHER_GTIN)
    admin = window.administration
    form = admin.form
    tap(qtbot, form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.confirm)  # no PRN reason
    wait(qtbot, lambda: form.field_error("prn_reason") != "")
    assert "reason" in form.field_error("prn_reason")
    assert not admin.banner.isVisible()
    # A dose not given needs its reason: said under the reason.
    choices = form.prn_choices
    assert choices is not None
    tap(qtbot, choices.buttons()[0])
    tap(qtbot, form.outcome_buttons[Outcome.REFUSED])
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: form.field_error("reason") != "")
    assert records(facility, "o-prn") == []
    ctx = window.ctx
    assert ctx is not None and ctx.errors.last is None  # no error box was ever shown

    tap(qtbot, window.findChild(QPushButton, "adminBack"))
    start(qtbot, window, "WB100002", INSULIN_GTIN)
    form = admin.form
    qtbot.keyClicks(form.fields["vital_glucose"], "5x5")  # type: ignore[attr-defined]
    tap(qtbot, form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: form.field_error("vital_glucose") != "")
    assert "glucose" in form.field_error("vital_glucose")
    assert ctx.errors.last is None


def test_an_out_of_unit_wristband_names_the_unit_not_the_resident(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "cna")
    scan(qtbot, window.overview.scan, "WB200001")  # Clarence Mbeki, room 201, Oak Wing
    wait(qtbot, lambda: "Oak Wing" in window.overview.banner.text())
    texts = " ".join(visible_texts(window))
    assert not any(word in texts for word in ("Mbeki", "Clarence", "201", "1935"))
    assert window.stack.currentWidget() is window.overview
