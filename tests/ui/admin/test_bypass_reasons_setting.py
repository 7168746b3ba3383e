"""The reasons for not scanning on the settings screen: a reason added and one removed are
saved (and audited as a settings change); a list left without a reason for a scan is refused
in words, nothing saved."""

from __future__ import annotations

from tests.ui.admin.steps import audit_actions, open_section
from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, tap
from ui.main_window import MainWindow


def test_the_admin_edits_the_reasons_for_not_scanning(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_settings")
    reasons = screen.bypass.table
    codes = [reasons.item(r, 0).text() for r in range(reasons.rowCount())]
    assert codes == ["band_missing", "band_unreadable", "band_refused", "barcode_damaged",
                     "no_barcode", "scanner_down"]
    screen.bypass.add_reason()
    last = reasons.rowCount() - 1
    for col, text in enumerate(("label_torn", "Pharmacy label torn", "medication")):
        reasons.item(last, col).setText(text)
    reasons.setCurrentCell(2, 0)  # band_refused
    screen.bypass.remove_reason()
    tap(qtbot, screen.save_button)
    idle(qtbot, window)
    assert "Settings saved" in screen.banner.text()
    settings = window.runner.run_on_worker(lambda: facility.store.reader().facility()).settings
    assert [r.code for r in settings.scan_bypass_reasons] == [
        "band_missing", "band_unreadable", "barcode_damaged", "no_barcode", "scanner_down",
        "label_torn",
    ]
    assert settings.scan_bypass_reasons[-1].applies_to == ("medication",)
    assert "settings_changed" in audit_actions(facility, window)

    for row in range(reasons.rowCount()):  # every wristband reason gone
        if "wristband" in reasons.item(row, 2).text():
            reasons.item(row, 2).setText("medication")
    tap(qtbot, screen.save_button)
    idle(qtbot, window)
    assert screen.bypass.error.text() == "✕ Keep at least one reason for the wristband scan."
    assert "Check the reasons for not scanning" in screen.banner.text()
    after = window.runner.run_on_worker(lambda: facility.store.reader().facility()).settings
    assert after == settings
