"""The "Who saw this resident" screen: an admin picks a resident and the days and sees the
nurse's sign-in, the opening of that resident's MAR and the sign-out, with the record's changes,
and nothing of the other resident opened in the same session; the export lands in the documents
folder with a manifest ``check_export`` verifies; a nurse is not offered the screen."""

from __future__ import annotations

from pathlib import Path

from mar_desktop.reports.export import check_export
from tests.ui.admin.steps import audit_actions, open_section
from tests.ui.harness import Facility1
from tests.ui.steps import idle, open_resident_by_wristband, sign_in, tap, wait
from ui.admin.access_report import AccessReportScreen
from ui.main_window import MainWindow


def test_an_admin_sees_who_opened_the_resident_and_exports_it(
    qtbot, window: MainWindow, facility: Facility1, tmp_path: Path
):
    sign_in(qtbot, window, facility, "nurse")
    assert not window.nav["admin_access"].isVisible()  # view_audit only
    open_resident_by_wristband(qtbot, window, "WB100001")
    open_resident_by_wristband(qtbot, window, "WB100002")
    window.sign_out()
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_access")
    assert isinstance(screen, AccessReportScreen)
    screen.resident.setCurrentIndex(screen.resident.findData("r1"))
    tap(qtbot, screen.show_button)
    wait(qtbot, lambda: screen.report is not None)
    rows = [screen.cells(r) for r in screen.report.rows]
    nurse = [(r[3], r[4]) for r, a in zip(rows, screen.report.rows, strict=True)
             if a.user_id == "u-nurse"]
    assert [action for action, _what in nurse] == ["sign-in", "view", "sign-out"]
    assert any(r[3] == "change" and "Order created" in r[4] for r in rows)
    assert screen.table.rowCount() == len(rows)
    assert "accesses:" in screen.summary.text()
    assert all("r2" not in (a.ref, a.what) for a in screen.report.rows)
    assert "audit_viewed" in audit_actions(facility, window, "r1")  # the report is recorded

    screen.documents = lambda: tmp_path
    screen.format.setCurrentIndex(screen.format.findData("pdf"))
    tap(qtbot, screen.export_button)
    wait(qtbot, lambda: screen.last_export is not None)
    idle(qtbot, window)
    folder = screen.last_export
    assert folder is not None and folder.parent == tmp_path
    assert (folder / "access-report.pdf").is_file()
    assert check_export(folder, trusted_keys=[facility.store.ledger.public_key_hex]).ok
    assert "exported" in audit_actions(facility, window, "r1")
    screen.clear_phi()
    assert screen.table.rowCount() == 0 and screen.resident.count() == 0
