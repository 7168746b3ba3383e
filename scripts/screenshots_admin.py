"""Refreshes docs/screenshots/admin-*.png, demo-scanner.png and 21-verify-orders.png: every
admin screen and the main admin dialogs at 1280×800, the staff screen, the audit log and the
order form on a portrait tablet (800×1280), the demo scanner panel on a resident's MAR, and
the "Verify orders" screen (a pharmacist comparing a pharmacy's changed order with its source
and the previous verified version), offscreen.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_admin.py`` (part of
``make screenshots``; ``--verify-only`` refreshes the verification screen alone). Uses the
small controlled facility of the UI tests (fictional people).
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

offscreen_screen.configure()  # a screen big enough for the portrait window

from PySide6.QtWidgets import QApplication, QDialog, QWidget  # noqa: E402

from mar_desktop.people.totp import code_at  # noqa: E402
from mar_desktop.services.base import Ports  # noqa: E402
from mar_desktop.services.demo_scans import DemoScanService  # noqa: E402
from tests.ui.harness import PASSWORD, SECRETS, build_facility  # noqa: E402
from ui import admin, theme  # noqa: E402
from ui.backend import DemoAccount  # noqa: E402
from ui.errors import ErrorPresenter  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.tasks import TaskRunner  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    app = QApplication(sys.argv[:1])
    theme.apply(app)
    if "--verify-only" in sys.argv:
        return verify_orders(app)
    admin_screens(app)
    return verify_orders(app)


def spinner(app: QApplication) -> Callable[..., None]:
    def spin(until: Callable[[], object], timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not until():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() > end:
                raise TimeoutError("screen did not get ready")
        for _ in range(30):
            app.processEvents()

    return spin


def verify_orders(app: QApplication) -> int:
    """21-verify-orders.png: the pharmacy changed a verified order's dose; a pharmacist sees
    the pharmacy's values, ours and the previous verified version side by side."""
    from tests.ui.verify_setup import pharmacy_change, seed_pending
    from ui.screens import verification_section
    from ui.screens.verification import VerificationScreen

    spin = spinner(app)
    with tempfile.TemporaryDirectory() as tmp:
        facility = build_facility(Path(tmp))
        seed_pending(facility)
        pharmacy_change(facility)  # the pharmacy doubles a verified order's dose
        runner = TaskRunner()
        window = MainWindow(runner, facility.clock, ErrorPresenter())
        verification_section.register(window)
        admin.register(window)
        window.resize(1280, 800)
        window.show()
        window.attach(facility.backend)
        spin(lambda: window.is_ready)
        login = window.login
        login.username.setText("rph")
        login.password.setText(PASSWORD)
        login.code.setText(facility.code("rph"))
        login.submit()
        spin(lambda: window.root.currentWidget() is window.work and runner.idle)
        window.nav[verification_section.SECTION_KEY].click()
        screen = window._section_widgets[verification_section.SECTION_KEY]
        assert isinstance(screen, VerificationScreen)
        spin(lambda: screen.loaded and runner.idle)
        screen.queue.selectRow(next(i for i, item in enumerate(screen.items)
                                    if item.pending.what == "change"))
        spin(lambda: screen.current is not None and runner.idle)
        spin(lambda: runner.idle)
        window.grab().save(str(OUT / "21-verify-orders.png"))
        print("wrote 21-verify-orders")
        window.shutdown()
        runner.run_on_worker(facility.backend.close)
        runner.shutdown()
    return 0


def admin_screens(app: QApplication) -> None:
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
        store, clock = facility.store, facility.clock
        facility.backend.demo_scans = DemoScanService(Ports(store.ledger, store.reader, clock))
        runner = TaskRunner()
        window = MainWindow(runner, clock, ErrorPresenter())
        admin.register(window)
        window.resize(1280, 800)
        window.show()
        accounts = [DemoAccount(u, "", u, PASSWORD, lambda s=SECRETS[u]: code_at(s, clock.now()))
                    for u in ("nurse", "nurse2", "admin")]
        window.attach(facility.backend, accounts)
        spin(lambda: window.is_ready)

        def sign_in(username: str) -> None:
            login = window.login
            login.username.setText(username)
            login.password.setText(PASSWORD)
            login.code.setText(facility.code(username))
            login.submit()
            spin(lambda: window.root.currentWidget() is window.work and runner.idle)

        def shot(widget: QWidget, name: str) -> None:
            spin(lambda: runner.idle)
            widget.grab().save(str(OUT / f"{name}.png"))
            print("wrote", name)

        def dialog(open_it: Callable[[], None], name: str, fill: Callable[[QDialog], None]
                   = lambda _d: None) -> None:
            open_it()
            spin(lambda: any(isinstance(w, QDialog) and w.isVisible()
                             for w in QApplication.topLevelWidgets()))
            shown = next(w for w in QApplication.topLevelWidgets()
                         if isinstance(w, QDialog) and w.isVisible())
            fill(shown)
            shot(shown, name)
            shown.reject()
            spin(lambda: not shown.isVisible())

        # the demo scanner, on a resident's MAR (a nurse signed in)
        sign_in("nurse")
        window.overview.on_scan("WB100001")
        scanner = window.demo_scanner
        assert scanner is not None
        spin(lambda: window.mar.data is not None
             and any(b.kind == "medication" for b in scanner.barcodes))
        shot(window, "demo-scanner")
        window.sign_out()
        spin(lambda: runner.idle)
        clock.advance(30)  # the next TOTP step
        sign_in("admin")
        scanner.hide()  # the admin screens as on a real tablet
        sections = window._section_widgets
        for size, suffix in (((1280, 800), ""), ((800, 1280), "-800x1280")):
            window.resize(*size)
            for key, name in (("admin_users", "users"), ("admin_residents", "residents"),
                              ("admin_settings", "settings"), ("admin_devices", "devices"),
                              ("admin_audit", "audit"), ("admin_reports", "reports")):
                if suffix and name not in ("users", "audit", "residents"):
                    continue
                window.nav[key].click()
                spin(lambda: runner.idle)
                screen = sections[key]
                if name == "users":
                    screen.select_username("cna")  # type: ignore[attr-defined]
                if name == "audit":
                    rows = screen.shown_actions()  # type: ignore[attr-defined]
                    if "user_created" in rows:
                        screen.table.selectRow(rows.index("user_created"))  # type: ignore[attr-defined]
                if name == "residents":
                    screen.table.selectRow(0)  # type: ignore[attr-defined]
                shot(window, f"admin-{name}{suffix}")
            users, residents = sections["admin_users"], sections["admin_residents"]
            dialog(users.new_user, f"admin-user-new{suffix}")  # type: ignore[attr-defined]
            window.nav["admin_residents"].click()
            spin(lambda: runner.idle)
            residents.table.selectRow(0)  # type: ignore[attr-defined]
            spin(lambda: runner.idle)
            residents.order_table.selectRow(1)  # type: ignore[attr-defined]
            dialog(residents.change_order, f"admin-order{suffix}")  # type: ignore[attr-defined]
        window.shutdown()
        runner.run_on_worker(facility.backend.close)
        runner.shutdown()


if __name__ == "__main__":
    sys.exit(main())
