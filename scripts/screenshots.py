"""Refreshes docs/screenshots/*.png: every main screen at 1280×800, and the overview, a
resident's MAR and the administration screen at 800×1280 and 1080×1920 (portrait) and
1920×1080, offscreen.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py`` (``make screenshots``).
Uses the small controlled facility of the UI tests (fictional people) on the real stack.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MAR_ALLOW_INSECURE_KEYSTORE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication, QPushButton  # noqa: E402

from mar_desktop.people.totp import code_at  # noqa: E402
from mar_desktop.sync_status import SyncStatus  # noqa: E402
from sync.status import StatusBoard  # noqa: E402
from tests.ui.harness import (  # noqa: E402
    INSULIN_GTIN,
    METOPROLOL_GTIN,
    OTHER_GTIN,
    PASSWORD,
    SECRETS,
    build_facility,
    med_scan,
)
from ui import theme  # noqa: E402
from ui.backend import DemoAccount  # noqa: E402
from ui.errors import ErrorPresenter  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.screens.dialogs import VoidDialog  # noqa: E402
from ui.tasks import TaskRunner  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = ((800, 1280), (1080, 1920), (1920, 1080))


def spin(app: QApplication, until: Callable[[], object], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not until():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end:
            raise TimeoutError("screen did not get ready")
    for _ in range(20):
        app.processEvents()


def main() -> int:
    app = QApplication(sys.argv[:1])
    theme.apply(app)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        facility = build_facility(Path(tmp))
        clock = facility.clock
        runner = TaskRunner()
        window = MainWindow(runner, clock, ErrorPresenter())
        window.resize(1280, 800)
        window.show()
        names = {"nurse": ("Marisol Ortega", "Nurse"), "nurse2": ("Tobias Brandt", "Nurse"),
                 "cna": ("Keisha Lambert", "CNA / med aide"),
                 "surveyor": ("Harold Finch", "Surveyor (read-only)"),
                 "admin": ("Dana Whitfield", "Facility admin")}
        accounts = [DemoAccount(n, r, u, PASSWORD, lambda s=SECRETS[u]: code_at(s, clock.now()))
                    for u, (n, r) in names.items()]
        board = StatusBoard(SyncStatus(
            state="online", online=True, pending=0, alerts=1,
            last_success=clock.now() - timedelta(minutes=3), last_attempt=clock.now()))

        class Source:  # the sync engine's status as the status bar reads it (ui.sync_link)
            def status(self) -> SyncStatus:
                return board.current

        facility.backend.sync_status = Source()
        window.attach(facility.backend, accounts)
        spin(app, lambda: window.is_ready)

        def shot(name: str) -> None:
            for _ in range(30):
                app.processEvents()
            window.grab().save(str(OUT / f"{name}.png"))
            print("wrote", name)

        shot("01-login")
        login = window.login
        login.fill(accounts[0])
        login.submit()
        spin(app, lambda: window.root.currentWidget() is window.work and runner.idle)
        shot("02-unit-overview")
        window.show_pass()
        spin(app, lambda: window.pass_list.found is not None and runner.idle)
        shot("20-med-pass")
        window.overview.on_scan("WB100001")
        spin(app, lambda: window.mar.data is not None and runner.idle)
        shot("03-resident-mar")
        window.mar.on_scan(med_scan(METOPROLOL_GTIN))
        spin(app, lambda: window.stack.currentWidget() is window.administration and runner.idle)
        buttons = window.administration.form.outcome_buttons
        buttons[next(iter(buttons))].click()
        shot("04-administration")
        dose = window.administration.form.fields["dose"]
        dose.setText("250")  # tenfold: refused under the field, nothing signed
        window.administration.submit()
        spin(app, lambda: window.administration.form.field_error("dose") and runner.idle)
        shot("15-dose-refused-at-the-field")
        dose.setText("25")
        window.administration.submit()
        spin(app, lambda: window.stack.currentWidget() is window.mar and runner.idle)
        spin(app, lambda: runner.idle)
        shot("05-resident-mar-after-dose")  # the confirmation of what was signed
        history = window.mar.history
        history.table.cellClicked.emit(0, 0)  # a tap on the newest entry: its actions open
        spin(app, lambda: history.opened_under() is not None)
        shot("17-history-row-actions")
        void = window.mar.findChild(QPushButton, "voidEntry")
        assert void is not None
        void.click()
        dialogs = [w for w in app.topLevelWidgets() if isinstance(w, VoidDialog)]
        spin(app, lambda: any(d.isVisible() for d in dialogs))
        dialogs[0].grab().save(str(OUT / "18-void-dialog.png"))
        print("wrote", "18-void-dialog")
        dialogs[0].reject()
        window.mar.on_scan(med_scan(OTHER_GTIN))  # the PRN: a reason and a pain score by tap
        spin(app, lambda: window.stack.currentWidget() is window.administration and runner.idle)
        form = window.administration.form
        form.outcome_buttons[next(iter(form.outcome_buttons))].click()
        assert form.prn_choices is not None
        form.prn_choices.buttons()[0].click()
        form.fields["pain"].buttons()[6].click()
        shot("19-prn-one-tap-reason-and-pain")
        window.administration._cancel()
        spin(app, lambda: runner.idle)
        window.show_alerts()
        spin(app, lambda: runner.idle)
        shot("06-alerts")
        for width, height in SIZES:  # portrait tablets and a full-HD screen
            window.resize(width, height)
            window.show_overview()
            spin(app, lambda: runner.idle)
            shot(f"12-unit-overview-{width}x{height}")
            window.overview.on_scan("WB100002")
            spin(app, lambda: window.mar.resident_id == "r2" and window.mar.data is not None
                 and runner.idle)
            shot(f"13-resident-mar-{width}x{height}")
            window.mar.on_scan(med_scan(INSULIN_GTIN))
            spin(app, lambda: window.stack.currentWidget() is window.administration
                 and runner.idle)
            shot(f"14-administration-{width}x{height}")
            window.administration._cancel()
            spin(app, lambda: runner.idle)
        window.resize(1280, 800)
        board.update(state="offline", online=False, pending=14,
                     oldest_unsynced_at=clock.now() - timedelta(hours=5),
                     last_success=clock.now() - timedelta(hours=5, minutes=2),
                     last_error="The server could not be reached.", next_attempt_in=60.0)
        window.status.refresh()
        window.show_overview()
        spin(app, lambda: runner.idle)
        shot("10-offline-long-outage-warning")
        board.update(state="online", online=True, pending=0, oldest_unsynced_at=None,
                     last_success=clock.now(), last_error=None)
        window.status.refresh()
        clock.advance(timedelta(seconds=301))
        assert window.bridge is not None
        window.bridge.tick()
        shot("07-lock-screen")
        window.sign_out()
        spin(app, lambda: runner.idle)
        clock.advance(timedelta(seconds=30))  # the next TOTP step
        login.fill(accounts[2])  # the CNA: insulin and Schedule II greyed, with the reason
        login.submit()
        spin(app, lambda: window.root.currentWidget() is window.work and runner.idle)
        window.overview.on_scan("WB100002")
        spin(app, lambda: window.mar.resident_id == "r2" and window.mar.data is not None
             and runner.idle)
        shot("16-cna-scope-of-practice")
        window.sign_out()
        spin(app, lambda: runner.idle)
        login.username.setText("newbie")
        login.password.setText(PASSWORD)
        login.submit()
        spin(app, lambda: window.root.currentWidget() is window.password_change and runner.idle)
        shot("08-password-change")
        window.password_change.new.setText("a quiet river under the old stone bridge")
        window.password_change.repeat.setText("a quiet river under the old stone bridge")
        window.password_change.submit()
        spin(app, lambda: window.root.currentWidget() is window.totp_enrol and runner.idle)
        shot("09-totp-enrolment")
        from ui.screens.first_run import FirstRunScreen

        first_run = FirstRunScreen()
        first_run.url.setText("https://mar.maplecourt.example:8443")
        window.status.set_source(None)
        window.show_page(first_run)
        shot("11-first-run")
        window.shutdown()
        runner.run_on_worker(facility.backend.close)
        runner.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
