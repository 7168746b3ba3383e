from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.admin.steps import audit_actions, open_section
from tests.ui.harness import Facility1
from tests.ui.steps import idle, record_gui_lag, sign_in, tap, wait
from ui.admin import ADMIN_KEYS
from ui.lag import EventLoopLagMonitor
from ui.main_window import MainWindow


def test_shift_sheet_pdf_is_rendered_off_the_gui_thread(qtbot, window: MainWindow,
                                                        facility: Facility1, tmp_path: Path):
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_reports")
    target = tmp_path / "shift.pdf"
    screen.ask_save_path = lambda _suggested: str(target)
    screen.unit.setCurrentIndex(screen.unit.findData("unit-a"))
    monitor = EventLoopLagMonitor(window)
    monitor.start()
    tap(qtbot, window.findChild(type(screen.refresh_button), "saveShift"))
    wait(qtbot, lambda: screen.last_output == target)
    idle(qtbot, window)
    monitor.stop()
    assert target.read_bytes().startswith(b"%PDF")
    assert "Saved shift.pdf" in screen.banner.text()
    record_gui_lag(monitor)
    assert "printed" in audit_actions(facility, window)


def test_print_goes_through_the_print_dialog_to_the_printer(qtbot, window: MainWindow,
                                                            facility: Facility1,
                                                            tmp_path: Path):
    pytest.importorskip("pypdfium2")
    from PySide6.QtPrintSupport import QPrinter

    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_reports")
    out = tmp_path / "printed.pdf"
    chosen: list[QPrinter] = []

    def ask_printer(printer: QPrinter, go) -> None:  # type: ignore[no-untyped-def]
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)  # stands in for a printer
        printer.setOutputFileName(str(out))
        chosen.append(printer)
        go()

    screen.ask_printer = ask_printer
    tap(qtbot, window.findChild(type(screen.refresh_button), "printShift"))
    wait(qtbot, lambda: "sent to the printer" in screen.banner.text())
    assert chosen and out.read_bytes().startswith(b"%PDF")


def test_surveyor_export_writes_a_checkable_folder(qtbot, window: MainWindow,
                                                   facility: Facility1, tmp_path: Path):
    from mar_desktop.reports.export import check_export

    sign_in(qtbot, window, facility, "surveyor")
    assert not window.nav["admin_users"].isVisible()
    screen = open_section(qtbot, window, "admin_reports")
    assert screen.export_card.isVisible()
    screen.ask_folder = lambda: str(tmp_path)
    tap(qtbot, window.findChild(type(screen.refresh_button), "surveyorExport"))
    wait(qtbot, lambda: screen.last_output is not None, timeout=30_000)
    idle(qtbot, window)
    assert check_export(screen.last_output).ok
    assert "exported" in audit_actions(facility, window)


def test_fhir_bundle_export_validates(qtbot, window: MainWindow, facility: Facility1,
                                      tmp_path: Path):
    import json

    from fhir.resources.R4B.bundle import Bundle

    sign_in(qtbot, window, facility, "surveyor")
    screen = open_section(qtbot, window, "admin_reports")
    assert screen.fhir_card.isVisible()
    screen.ask_folder = lambda: str(tmp_path)
    tap(qtbot, window.findChild(type(screen.refresh_button), "fhirExport"))
    wait(qtbot, lambda: screen.last_output is not None, timeout=30_000)
    idle(qtbot, window)
    bundle = json.loads(screen.last_output.read_bytes())
    assert Bundle.model_validate(bundle).type == "collection"
    assert any(e["resource"]["resourceType"] == "Patient" for e in bundle["entry"])
    assert "exported" in audit_actions(facility, window)


def test_nurse_sees_no_admin_section_and_services_refuse(qtbot, window: MainWindow,
                                                         facility: Facility1):
    from mar_desktop.errors import PermissionDenied
    from mar_desktop.model import Role, User

    sign_in(qtbot, window, facility, "nurse")
    hidden = ADMIN_KEYS - {"admin_reports"}  # nurses may print (print_reports)
    assert all(not window.nav[key].isVisible() for key in hidden)
    assert window.nav["admin_reports"].isVisible()
    reports = open_section(qtbot, window, "admin_reports")
    assert not reports.export_card.isVisible() and reports.export_refused.isVisible()
    users_screen = window._section_widgets["admin_users"]
    principal = window.ctx.principal()  # type: ignore[union-attr]
    intruder = User(user_id="u-x", username="x", full_name="X Y", initials="XY",
                    role=Role.FACILITY_ADMIN)

    def create() -> object:
        services = window.ctx.backend.admin  # type: ignore[union-attr]
        return services.accounts.create_user(principal, intruder)

    with pytest.raises(PermissionDenied):
        window.runner.run_on_worker(create)
    assert "permission_refused" in audit_actions(facility, window)
    # the screen's own load is refused by the service too, and the message is shown
    users_screen.refresh()
    idle(qtbot, window)
    assert "does not allow" in users_screen.banner.text()
    assert users_screen.data.rows == []
