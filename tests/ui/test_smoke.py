from __future__ import annotations

from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in
from ui.main_window import MainWindow


def test_nurse_signs_in_and_sees_residents(qtbot, window: MainWindow, facility: Facility1):
    sign_in(qtbot, window, facility, "nurse")
    idle(qtbot, window)
    names = [s.resident.display_name for s in window.overview.visible_summaries()]
    assert "Holloway, Agnes" in names
    assert window.overview.table.rowCount() == 3
