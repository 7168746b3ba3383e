"""The demo scanner panel (``--demo``): it lists the current resident's wristband and package
barcodes, and a tap sends one exactly as a keyboard-wedge scanner does, so the dose screen
accepts it; the witness's codes stay on screen while someone is signed in; a lock hides it.
(That it cannot appear without ``--demo``: ``test_demo_scanner_absent.py``.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from mar_desktop.services.base import Ports
from mar_desktop.services.demo_scans import DemoScanService, package_code
from tests.ui.harness import METOPROLOL_GTIN, Facility1, build_facility
from tests.ui.steps import idle, sign_in, tap, wait
from ui.backend import DemoAccount
from ui.main_window import MainWindow
from ui.startup import gui_deferral
from ui.tasks import TaskRunner
from ui.widgets.demo_scanner import DemoScannerPanel


@pytest.fixture
def facility(tmp_path: Path, memory_keyring: object, runner: TaskRunner) -> Iterator[Facility1]:
    """The UI tests' facility with the demo's scan service, as ``--demo`` builds it."""
    built = build_facility(tmp_path, defer=gui_deferral(runner))
    built.backend.demo_scans = DemoScanService(
        Ports(built.store.ledger, built.store.reader, built.clock))
    return built


def tap_barcode(qtbot: object, panel: DemoScannerPanel, code: str) -> None:
    wait(qtbot, lambda: code in [b.code for b in panel.barcodes]
         and panel.button_for(code).isVisible())
    tap(qtbot, panel.button_for(code))


def focus(qtbot: object, widget: QWidget) -> None:
    widget.window().activateWindow()
    widget.setFocus()
    wait(qtbot, lambda: QApplication.focusWidget() is widget)


def test_a_tap_scans_as_a_wedge_scanner_would(qtbot, window: MainWindow, facility: Facility1):
    panel = window.demo_scanner
    assert panel is not None and not panel.isVisible()  # nothing before sign-in
    sign_in(qtbot, window, facility, "nurse")
    wait(qtbot, lambda: panel.isVisible() and "WB100001" in [b.code for b in panel.barcodes])
    assert "DEMO SCANNER" in panel.findChildren(type(panel.codes))[0].text()
    focus(qtbot, window.overview.scan)
    tap_barcode(qtbot, panel, "WB100001")
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar
         and window.mar.resident_id == "r1" and window.mar.data is not None)
    meto = package_code(METOPROLOL_GTIN)
    wait(qtbot, lambda: meto in [b.code for b in panel.barcodes])
    assert next(b.kind for b in panel.barcodes) == "wristband"
    focus(qtbot, window.mar.scan)
    tap_barcode(qtbot, panel, meto)
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    assert QApplication.focusWidget() is not panel.button_for(meto)  # it took no focus


def test_the_witness_codes_stay_while_signed_in_and_a_lock_hides_the_panel(
    qtbot, window: MainWindow, facility: Facility1
):
    sign_in(qtbot, window, facility, "nurse")
    panel = window.demo_scanner
    assert panel is not None
    window.demo_scanner.clear()  # as at a lock; the sign-in path shows it again
    window.demo_scanner._accounts = [DemoAccount("Tobias Brandt", "Nurse", "nurse2", "pw",
                                                 lambda: "123456")]
    panel.show()
    wait(qtbot, lambda: "nurse2 123456" in panel.codes.text())
    window.lock_now()
    wait(qtbot, lambda: window.root.currentWidget() is window.lock_screen)
    idle(qtbot, window)
    assert not panel.isVisible() and panel.barcodes == []
