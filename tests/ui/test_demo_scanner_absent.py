"""The demo scanner panel cannot appear outside ``--demo``: only the demo's composition adds
the service it needs, and the main window builds the panel only with it."""

from __future__ import annotations

import inspect
from pathlib import Path

from tests.ui.harness import Facility1
from tests.ui.steps import sign_in
from ui import app
from ui.main_window import MainWindow
from ui.widgets.demo_scanner import DemoScannerPanel


def test_no_panel_without_demo(qtbot, window: MainWindow, facility: Facility1):
    assert facility.backend.demo_scans is None  # build_backend without demo=True
    sign_in(qtbot, window, facility, "nurse")
    assert window.demo_scanner is None
    assert not window.findChildren(DemoScannerPanel)


def test_a_real_tablet_opens_without_the_demo_service(tmp_path: Path, memory_keyring: object):
    """The start-up path of a real tablet (``open_backend`` without ``--demo``) builds a
    backend with no demo scan service, so the window never builds the panel."""
    from mar_desktop.clock import FakeClock
    from storage.keystore import KeyStore
    from storage.local_store import LocalStore
    from ui.startup import open_backend

    assert inspect.signature(app.build_backend).parameters["demo"].default is False
    data_dir = tmp_path / "data"
    LocalStore.create(data_dir, KeyStore(data_dir), "fac-1", FakeClock()).close()
    opened = open_backend(data_dir, False, FakeClock())
    try:
        assert opened.backend.demo_scans is None
    finally:
        opened.backend.close()
