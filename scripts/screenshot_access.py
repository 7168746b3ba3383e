"""Refreshes docs/screenshots/22-access-report.png: "Who saw this resident" at 1280×800 after a
nurse opened the resident's MAR (and another resident's) and signed out, offscreen.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_access.py`` (part of
``make screenshots``). Uses the small controlled facility of the UI tests (fictional people).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MAR_ALLOW_INSECURE_KEYSTORE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ui import offscreen_screen  # noqa: E402

offscreen_screen.configure()

from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.ui.harness import PASSWORD, build_facility  # noqa: E402
from ui import admin, theme  # noqa: E402
from ui.admin.access_report import AccessReportScreen  # noqa: E402
from ui.errors import ErrorPresenter  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.tasks import TaskRunner  # noqa: E402

OUT = ROOT / "docs" / "screenshots" / "22-access-report.png"


def main() -> int:
    app = QApplication(sys.argv[:1])
    theme.apply(app)

    def spin(until: Callable[[], object], timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not until():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() > end:
                raise TimeoutError("screen did not get ready")
        for _ in range(30):
            app.processEvents()

    with tempfile.TemporaryDirectory() as tmp:
        facility = build_facility(Path(tmp))
        clock = facility.clock
        runner = TaskRunner()
        window = MainWindow(runner, clock, ErrorPresenter())
        admin.register(window)
        window.resize(1280, 800)
        window.show()
        window.attach(facility.backend, [])
        spin(lambda: window.is_ready)

        def sign_in(username: str) -> None:
            login = window.login
            login.username.setText(username)
            login.password.setText(PASSWORD)
            login.code.setText(facility.code(username))
            login.submit()
            spin(lambda: window.root.currentWidget() is window.work and runner.idle)

        sign_in("nurse")
        for wristband in ("WB100001", "WB100002", "WB100001"):
            clock.advance(20)
            window.overview.on_scan(wristband)
            spin(lambda: runner.idle)
        clock.advance(20)
        window.sign_out()
        spin(lambda: runner.idle)
        clock.advance(30)
        sign_in("admin")
        window.nav["admin_access"].click()
        spin(lambda: runner.idle)
        screen = window._section_widgets["admin_access"]
        assert isinstance(screen, AccessReportScreen)
        screen.resident.setCurrentIndex(screen.resident.findData("r1"))
        screen.show_report()
        spin(lambda: screen.report is not None and runner.idle)
        screen.table.scrollToBottom()  # the nurse's session, after the record's setup
        spin(lambda: True)
        window.grab().save(str(OUT))
        print("wrote", OUT.name)
        window.shutdown()
        runner.run_on_worker(facility.backend.close)
        runner.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
