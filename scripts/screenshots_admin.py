"""Refreshes the admin screenshots (docs/screenshots/admin-*.png) at 1280x800.

Builds the UI tests' controlled facility (tests/ui/harness.py) in a temporary folder, signs in
as the facility admin, opens each admin section and a few of its dialogs, and saves what the
window shows. Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_admin.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def pump(until: Callable[[], bool], timeout: float = 20.0) -> None:
    app = QApplication.instance()
    assert app is not None
    end = time.monotonic() + timeout
    while not until():
        if time.monotonic() > end:
            raise TimeoutError("the screen did not settle")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()


def save(widget: QWidget, name: str) -> None:
    pump(lambda: True)
    path = OUT / f"admin-{name}.png"
    widget.grab().save(str(path))
    print(path.relative_to(ROOT))


def main() -> int:
    from tests.ui.harness import PASSWORD, build_facility
    from ui import admin, theme
    from ui.errors import ErrorPresenter
    from ui.main_window import MainWindow
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply(app)  # type: ignore[arg-type]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        facility = build_facility(Path(folder))
        runner = TaskRunner()
        errors = ErrorPresenter()
        runner.default_failure = errors.show
        window = MainWindow(runner, facility.clock, errors)
        admin.register(window)
        window.resize(1280, 800)
        window.show()
        window.attach(facility.backend)
        pump(lambda: window.is_ready)
        idle = lambda: runner.idle  # noqa: E731
        login = window.login
        login.username.setText("admin")
        login.password.setText(PASSWORD)
        login.code.setText(facility.code("admin"))
        login.sign_in_button.click()
        pump(lambda: window.root.currentWidget() is window.work and runner.idle)
        try:
            for key, name in (("admin_users", "users"), ("admin_residents", "residents"),
                              ("admin_settings", "settings"), ("admin_devices", "devices"),
                              ("admin_audit", "audit"), ("admin_reports", "reports")):
                window.nav[key].click()
                pump(idle)
                screen = window._section_widgets[key]
                if key == "admin_residents":
                    screen.select_resident("r2")  # type: ignore[attr-defined]
                    pump(idle)
                save(window, name)
                if key == "admin_users":
                    screen.new_button.click()  # type: ignore[attr-defined]
                    dialog = _top("NewUserDialog")
                    dialog.full_name.setText("Priya Raman")  # type: ignore[attr-defined]
                    dialog.full_name.textEdited.emit("Priya Raman")  # type: ignore[attr-defined]
                    dialog.credentials.setText("LPN")  # type: ignore[attr-defined]
                    save(dialog, "user-new")
                    dialog.reject()
                if key == "admin_residents":
                    screen.select_order("Insulin glargine")  # type: ignore[attr-defined]
                    pump(idle)
                    screen.change_order()  # type: ignore[attr-defined]
                    dialog = _top("OrderDialog")
                    dialog.resize(1100, 760)
                    save(dialog, "order")
                    dialog.reject()
        finally:
            window.shutdown()
            runner.run_on_worker(facility.backend.close)
            runner.shutdown()
    return 0


def _top(class_name: str) -> QWidget:
    found: list[QWidget] = []

    def look() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if type(w).__name__ == class_name and w.isVisible()]
        return bool(found)

    pump(look)
    return found[-1]


if __name__ == "__main__":
    raise SystemExit(main())
