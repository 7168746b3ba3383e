"""The scan compliance and overrides report from the admin Reports screen: saved as a PDF on
the worker, its run audited."""

from __future__ import annotations

from pathlib import Path

import pdfplumber

from tests.ui.admin.steps import audit_actions, open_section
from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, tap, wait
from ui.main_window import MainWindow


def test_the_admin_saves_the_compliance_report_as_a_pdf(
    qtbot: object, window: MainWindow, facility: Facility1, tmp_path: Path
) -> None:
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_reports")
    wait(qtbot, lambda: screen.compliance_unit.count() > 1)
    assert screen.compliance_card.isVisible()
    assert screen.compliance_unit.itemText(0) == "Every unit I may see"
    target = tmp_path / "compliance.pdf"
    screen.ask_save_path = lambda _suggested: str(target)
    tap(qtbot, window.findChild(type(screen.refresh_button), "saveCompliance"))
    wait(qtbot, lambda: screen.last_output == target)
    idle(qtbot, window)
    with pdfplumber.open(target) as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert "Scan compliance and overrides" in text and "All units you may see" in text
    assert "Saved compliance.pdf" in screen.banner.text()
    assert "printed" in audit_actions(facility, window)
