"""Who sees and does what through the UI: a CNA's unit scope, a read-only surveyor, and the idle
lock hiding every PHI widget."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QPushButton, QWidget

from mar_desktop.permissions import Permission
from tests.ui.harness import METOPROLOL_GTIN, Facility1, med_scan
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, visible_texts, wait
from ui.main_window import MainWindow

PHI = ("Holloway", "Agnes", "Osei", "Bernard", "Mbeki", "1938", "1941", "Penicillin",
       "WB100001", "Metoprolol")


def test_cna_sees_only_the_assigned_unit(qtbot, window: MainWindow, facility: Facility1):
    sign_in(qtbot, window, facility, "cna")
    wait(qtbot, lambda: window.overview.table.rowCount() == 2)
    assert window.overview.unit_names() == ["My unit", "Rose Wing"]
    names = " ".join(visible_texts(window.overview))
    assert "Holloway" in names and "Mbeki" not in names
    assert not window.overview.emergency_button.isVisible()  # CNAs have no break-the-glass
    scan(qtbot, window.overview.scan, "WB200001")  # a resident of Oak Wing
    idle(qtbot, window)
    wait(qtbot, lambda: "not on your assignment" in window.overview.banner.text())
    assert window.stack.currentWidget() is window.overview


def test_read_only_user_cannot_record(qtbot, window: MainWindow, facility: Facility1):
    sign_in(qtbot, window, facility, "surveyor")
    open_resident_by_wristband(qtbot, window, "WB100001")
    assert window.mar.due.texts()  # the surveyor sees what is due...
    window.mar.due.table.cellClicked.emit(0, 0)  # ...but tapping a dose does not open it
    assert window.stack.currentWidget() is window.mar
    assert "cannot record" in window.mar.banner.text() or "not record" in window.mar.banner.text()
    scan(qtbot, window.mar.scan, med_scan(METOPROLOL_GTIN))
    idle(qtbot, window)
    # Even if the flow were reached, the service refuses: permissions are not only hidden buttons.
    if window.stack.currentWidget() is window.administration:
        raise AssertionError("a read-only user reached the administration flow")
    ctx = window.ctx
    assert ctx is not None and not ctx.may(Permission.RECORD_ADMINISTRATION)
    assert window.mar.findChild(QPushButton, "amendNote") is None
    assert window.mar.findChild(QPushButton, "voidEntry") is None


def test_idle_lock_hides_every_phi_widget(qtbot, window: MainWindow, facility: Facility1):
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    scan(qtbot, window.mar.scan, med_scan(METOPROLOL_GTIN))
    wait(qtbot, lambda: window.stack.currentWidget() is window.administration)
    idle(qtbot, window)
    before = " ".join(visible_texts(window))
    assert "Holloway" in before and "Metoprolol" in before
    facility.clock.advance(timedelta(seconds=301))
    window.bridge.tick()  # what the 1-second timer does; no event loop turn needed
    assert window.root.currentWidget() is window.lock_screen
    texts = " ".join(visible_texts(window))
    assert not any(word in texts for word in PHI), texts
    # Not just covered: the PHI screens were emptied too.
    hidden = []
    for widget in window.work.findChildren(QWidget):
        text = getattr(widget, "text", None)
        if callable(text):
            value = text()
            if isinstance(value, str) and any(word in value for word in PHI):
                hidden.append(value)
    assert hidden == []
    assert window.mar.data is None and window.overview.visible_summaries() == []
