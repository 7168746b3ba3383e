"""Scope of practice on the screen: a CNA sees an insulin injection and a Schedule II opioid
greyed on the MAR with the reason before scanning anything; scanning one keeps the MAR and says
why; an oral dose opens as usual."""

from __future__ import annotations

from tests.ui.harness import INSULIN_GTIN, METOPROLOL_GTIN, Facility1, med_scan
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, wait
from tests.ui.test_bedside_rules import given_records
from ui.main_window import MainWindow


def test_a_cna_sees_injections_and_schedule_ii_greyed_and_cannot_start_them(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "cna")
    open_resident_by_wristband(qtbot, window, "WB100002")
    rows = window.mar.due.texts() + window.mar.prn.texts() + window.mar.later.texts()
    insulin = next(t for t in rows if "Insulin glargine" in t)
    oxycodone = next(t for t in rows if "Oxycodone" in t)
    assert "not yours" in insulin.lower() and "Licensed nurse: subcutaneous" in insulin
    assert "not yours" in oxycodone.lower() and "Licensed nurse: Schedule II" in oxycodone

    scan(qtbot, window.mar.scan, med_scan(INSULIN_GTIN))
    idle(qtbot, window)
    assert window.stack.currentWidget() is window.mar
    assert "subcutaneous" in window.mar.banner.text()
    assert given_records(facility, "o-ins") == []

    open_resident_by_wristband(qtbot, window, "WB100001")
    scan(qtbot, window.mar.scan, med_scan(METOPROLOL_GTIN))
    wait(qtbot, lambda: window.stack.currentWidget() is window.administration)


def test_a_nurse_sees_no_greyed_dose(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100002")
    rows = window.mar.due.texts() + window.mar.prn.texts() + window.mar.later.texts()
    assert rows and not any("not yours" in t.lower() for t in rows)
