"""The child process of the memory benchmark (:mod:`tests.bench.memory`): the real app on a
copy of the year database, driven through a compressed hour of a nurse's and an admin's work.

Run as ``python -m tests.bench.memory_drive PLAN.json`` with ``QT_QPA_PLATFORM=offscreen``.
The plan (written by the parent) names the data folder, its key, the fake "now", the
credentials it installed, and the residents, wristbands and medication codes to use. The app is
built as :func:`ui.startup.run_gui` builds it (theme, task runner, error presenter, main window
with the admin sections, :class:`ui.startup.AppOwner` opening the store on the worker), except
that the clock is a fake one the script advances (the data's "now" is fixed) and the key comes
from an in-memory keyring. Widgets are driven through their own slots and buttons, as the GUI
tests do (:mod:`tests.ui.steps`).

Prints one JSON object per line: ``{"sample": label, "rss_kb", "hwm_kb"}`` after each step of
the hour, and last ``{"done": true, "actions": {...}, "failures": [...], "rss_kb", "hwm_kb"}``.
With ``MAR_BENCH_TRACEMALLOC=1`` the Python allocation sites holding the most memory at the end
are printed to stderr (to find what holds memory; not used for the figure).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

STEP_TIMEOUT_S = float(os.environ.get("MAR_BENCH_STEP_TIMEOUT", "120"))


def memory_kb() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in kB, from /proc/self/status."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def med_scan(gtin: str, expiry: str) -> str:
    """A GS1 DataMatrix as a keyboard-wedge scanner types it (as ``tests.ui.harness.med_scan``,
    which is not imported: it would load test-only modules into the measured process)."""
    return f"]d201{gtin}17{expiry}10LOT42"


def _memory_keyring() -> Any:
    """An in-memory keyring backend holding the copy's key (``tests.keyrings``: no pytest in
    the process being measured)."""
    from tests.keyrings import MemoryKeyring

    return MemoryKeyring()


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


class Driver:
    """Drives the main window like a person would; every step waits for the worker."""

    def __init__(self, plan: dict[str, Any]) -> None:
        import keyring
        from PySide6.QtWidgets import QApplication

        from mar_desktop.clock import FakeClock
        from storage.keystore import SERVICE, key_name_for
        from ui import theme
        from ui.admin import register
        from ui.errors import ErrorPresenter
        from ui.main_window import MainWindow
        from ui.startup import AppOwner
        from ui.tasks import TaskRunner

        self.plan = plan
        data_dir = Path(plan["data_dir"])
        backend = _memory_keyring()
        backend.set_password(SERVICE, key_name_for(data_dir), plan["key"])
        keyring.set_keyring(backend)
        app = QApplication.instance() or QApplication(sys.argv[:1])
        assert isinstance(app, QApplication)
        self.app = app
        theme.apply(app)
        self.clock = FakeClock(datetime.fromisoformat(plan["now"]))
        self.runner = TaskRunner()
        errors = ErrorPresenter()
        self.runner.default_failure = self._task_failed
        self.window = MainWindow(self.runner, self.clock, errors)
        register(self.window)
        self.window.resize(1280, 800)
        self.window.show()
        self.owner = AppOwner(self.window, self.runner, self.clock, data_dir)
        self.actions: Counter[str] = Counter()
        self.failures: list[str] = []
        self.tmp = Path(plan["tmp"])

    # ---- plumbing -----------------------------------------------------------------------------
    def _task_failed(self, error: BaseException) -> None:
        self.failures.append(f"task: {type(error).__name__}")

    def spin(self, until: Callable[[], object], what: str) -> bool:
        """Runs the event loop until ``until()`` and the worker is idle; False on timeout."""
        end = time.monotonic() + STEP_TIMEOUT_S
        while not (until() and self.runner.idle):
            self.app.processEvents()
            time.sleep(0.002)
            if time.monotonic() > end:
                self.failures.append(f"timeout: {what} ({self._screen()})")
                print(self.failures[-1], file=sys.stderr, flush=True)
                return False
        for _ in range(5):
            self.app.processEvents()
        return True

    def _screen(self) -> str:
        """Which page shows, and its banner (for a failure line; no PHI leaves the bench)."""
        w = self.window
        page = w.root.currentWidget()
        if page is w.work:
            page = w.stack.currentWidget()
        banner = getattr(page, "banner", None)
        text = banner.text()[:80] if banner is not None and hasattr(banner, "text") else ""
        return f"{type(page).__name__}: {text}"

    def minute(self, minutes: float = 1) -> None:
        """Time passes, and the nurse touches the screen (input counts as activity for the
        idle lock, :mod:`ui.session_bridge`; the driver's slot calls are not input)."""
        from PySide6.QtCore import QEvent, Qt
        from PySide6.QtGui import QKeyEvent

        self.clock.advance(timedelta(minutes=minutes))
        touch = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Shift, Qt.KeyboardModifier.NoModifier)
        self.app.sendEvent(self.window, touch)

    def sample(self, label: str) -> None:
        rss, hwm = memory_kb()
        emit(sample=label, rss_kb=rss, hwm_kb=hwm)

    # ---- steps --------------------------------------------------------------------------------
    def start(self) -> None:
        w = self.window
        self.owner.open(False)
        self.spin(lambda: w.ctx is not None and w.login.sign_in_button.isEnabled(), "open")
        self.sample("login window, store open")

    def sign_in(self, username: str) -> None:
        from mar_desktop.people.totp import code_at

        w = self.window
        w.login.username.setText(username)
        w.login.password.setText(self.plan["password"])
        w.login.code.setText(code_at(self.plan["secrets"][username], self.clock.now()))
        w.login.submit()
        self.spin(lambda: w.root.currentWidget() is w.work, f"sign in {username}")
        self.actions["sign in"] += 1

    def sign_out(self) -> None:
        self.window.sign_out()
        self.spin(lambda: self.window.root.currentWidget() is self.window.login, "sign out")
        self.minute()

    def lock_unlock(self) -> None:
        w = self.window
        w.lock_now()
        self.spin(lambda: w.root.currentWidget() is w.lock_screen, "lock")
        w.lock_screen.password.setText(self.plan["password"])
        w.lock_screen.submit()
        self.spin(lambda: w.root.currentWidget() is w.work, "unlock")
        self.actions["lock and unlock"] += 1

    def overview(self) -> None:
        w = self.window
        w.show_overview()
        self.spin(lambda: w.overview.table.rowCount() > 0, "overview")
        combo = w.overview.unit_filter
        if combo.count() > 1:
            combo.setCurrentIndex((combo.currentIndex() + 1) % combo.count())
            self.spin(lambda: True, "unit filter")
        w.overview.search.setText("1")
        w.overview.search.clear()
        self.actions["unit overview"] += 1

    def open_resident(self, wristband: str) -> bool:
        w = self.window
        w.show_overview()
        self.spin(lambda: True, "overview before scan")
        w.overview.on_scan(wristband)
        ok = self.spin(lambda: w.stack.currentWidget() is w.mar and w.mar.data is not None
                       and w.mar.identity_state.text().startswith("✓"), "open MAR")
        self.actions["open a resident's MAR"] += ok
        return ok

    def give(self, gtin: str, prn: bool) -> bool:
        """Scans the medication on the open MAR, taps Given, fills what the rules ask, and
        confirms; back on the MAR with the dose recorded."""
        from mar_desktop.model import Outcome

        w = self.window
        admin = w.administration
        w.mar.on_scan(med_scan(gtin, expiry="281231"))
        self.spin(lambda: w.stack.currentWidget() is admin
                  or w.mar.banner.text().startswith("✕"), "scan medication")
        if not (w.stack.currentWidget() is admin
                and admin.bedside.medication_check.text().startswith("✓")):
            self.failures.append(f"scan refused: {self._screen()}")
            if w.stack.currentWidget() is admin:
                admin._cancel()
            return False
        admin.form.outcome_buttons[Outcome.GIVEN].click()
        fields = admin._fields
        if "outside" in fields:
            fields["outside"].setText("Resident was at breakfast")
        if "prn_reason" in fields:
            fields["prn_reason"].setText("Headache")
            fields["pain"].set_value(5)
        if "site" in fields:
            fields["site"].setCurrentIndex(1)
        for key, edit in fields.items():
            if key.startswith("vital_"):
                edit.setText("120")
        fields["note"].setText("Taken with water.")
        admin.submit()
        ok = self.spin(lambda: (w.stack.currentWidget() is w.mar and w.mar.data is not None)
                       or admin.banner.text().startswith("✕"), "record dose")
        if w.stack.currentWidget() is admin:
            self.failures.append(f"not recorded: {admin.banner.text()[:80]}")
            admin._cancel()
            self.spin(lambda: True, "cancel")
            return False
        self.actions["record a PRN dose" if prn else "record a scheduled dose"] += ok
        return ok

    def amend_latest_note(self) -> None:
        from ui.screens.dialogs import FormDialog

        w = self.window
        history = w.mar.history
        if not history._rows:
            return
        from PySide6.QtWidgets import QPushButton

        history.table.cellClicked.emit(0, 0)  # a tap opens the row's actions under it
        amend = w.mar.findChild(QPushButton, "amendNote")
        if amend is None or not amend.isEnabled():
            return
        amend.click()
        dialogs = [d for d in self.app.topLevelWidgets()
                   if isinstance(d, FormDialog) and d.isVisible()]
        if not dialogs:
            return
        dialog = dialogs[-1]
        dialog.note.setPlainText("Taken with water, no difficulty swallowing.")  # type: ignore[attr-defined]
        dialog.ok.click()  # type: ignore[attr-defined]
        ok = self.spin(lambda: not dialog.isVisible(), "amend note")
        self.actions["amend a note"] += ok

    def alerts_and_sync(self) -> None:
        w = self.window
        w.show_alerts()
        self.spin(lambda: True, "alerts")
        w.status.refresh()
        self.actions["alerts and sync status"] += 1

    def admin_round(self) -> None:
        w = self.window
        self.sign_out()
        self.sign_in("admin")
        for key in ("admin_users", "admin_residents", "admin_settings", "admin_devices",
                    "admin_audit", "admin_reports"):
            w.nav[key].click()
            screen = w._section_widgets[key]
            self.spin(lambda s=screen: w.stack.currentWidget() is s, key)
            self.actions[f"admin: {key.removeprefix('admin_')}"] += 1
        audit = w._section_widgets["admin_audit"]
        w.nav["admin_audit"].click()
        self.spin(lambda: True, "audit")
        audit.search_button.click()  # type: ignore[attr-defined]
        self.spin(lambda: True, "audit search")
        self.sample("admin: audit log searched")
        reports = w._section_widgets["admin_reports"]
        w.nav["admin_reports"].click()
        self.spin(lambda: True, "reports")
        target = self.tmp / f"shift-{self.actions['print a shift MAR']}.pdf"
        reports.ask_save_path = lambda _suggested: str(target)  # type: ignore[attr-defined]
        reports.save_shift()  # type: ignore[attr-defined]
        if self.spin(lambda: reports.last_output == target, "shift MAR PDF"):  # type: ignore[attr-defined]
            self.actions["print a shift MAR"] += 1
            target.unlink(missing_ok=True)
        self.sample("admin: shift MAR saved")
        self.sign_out()
        self.sign_in("nurse")

    # ---- the hour -------------------------------------------------------------------------------
    def hour(self) -> None:
        plan = self.plan
        visits: list[dict[str, Any]] = plan["visits"]
        rounds = plan["rounds"]
        per_round = max(1, len(visits) // rounds)
        self.sign_in("nurse")
        self.sample("signed in")
        for number in range(rounds):
            self.overview()
            for visit in visits[number * per_round:(number + 1) * per_round]:
                self.minute()
                if not self.open_resident(visit["wristband"]):
                    continue
                if visit.get("gtin") and self.give(visit["gtin"], prn=False):
                    self.amend_latest_note()
                if visit.get("prn_gtin") and number % 2 == 0:
                    self.give(visit["prn_gtin"], prn=True)
            self.alerts_and_sync()
            self.lock_unlock()
            if number % 4 == 3:
                self.admin_round()
            self.sample(f"round {number + 1} of {rounds}")
        self.window.show_overview()
        self.spin(lambda: True, "final overview")

    def quit(self) -> None:
        self.owner.shutdown()


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[1]).read_text())
    tracing = os.environ.get("MAR_BENCH_TRACEMALLOC") == "1"
    if tracing:
        import tracemalloc

        tracemalloc.start(12)
    driver = Driver(plan)
    driver.sample("window shown")
    driver.start()
    driver.hour()
    rss, hwm = memory_kb()
    emit(done=True, actions=dict(driver.actions), failures=driver.failures[:20],
         rss_kb=rss, hwm_kb=hwm)
    if tracing:
        import gc
        import tracemalloc

        gc.collect()
        for stat in tracemalloc.take_snapshot().statistics("traceback")[:15]:
            print(f"{stat.size / 1024:,.0f} KiB in {stat.count} blocks", file=sys.stderr)
            for line in stat.traceback.format()[-8:]:
                print("   ", line, file=sys.stderr)
    driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
