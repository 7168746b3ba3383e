"""Steps the admin UI tests share: open a section, find the open admin dialog, fill and submit
it, read the audit trail through the service."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QDialog, QWidget

from tests.ui.harness import Facility1
from tests.ui.steps import idle, tap, wait
from ui.main_window import MainWindow


def open_section(qtbot: object, window: MainWindow, key: str) -> QWidget:
    tap(qtbot, window.nav[key])
    screen = window._section_widgets[key]
    wait(qtbot, lambda: window.stack.currentWidget() is screen)
    idle(qtbot, window)
    return screen


def dialog_of(qtbot: object, cls: type) -> QDialog:
    found: list[QDialog] = []

    def look() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, cls) and w.isVisible()]
        return bool(found)

    wait(qtbot, look)
    return found[-1]


def submit(qtbot: object, window: MainWindow, dialog: QDialog) -> None:
    """Taps the dialog's action button and waits for the worker."""
    tap(qtbot, dialog.ok)  # type: ignore[attr-defined]
    idle(qtbot, window)


def audit_actions(facility: Facility1, window: MainWindow,
                  entity_id: str | None = None) -> list[str]:
    """Audit actions recorded so far (newest first), read directly from the store."""
    from storage.credentials import SqlAuditLog

    def read() -> list[str]:
        log = SqlAuditLog(facility.store.connect_reader)
        try:
            return [e.kind.removeprefix("audit.") for e in log.audit_entries()
                    if entity_id is None or e.body.get("entity_id") == entity_id]
        finally:
            log.close()

    return window.runner.run_on_worker(read)  # type: ignore[no-any-return]


def select_row(qtbot: object, table: object, text: str, column: int = 0) -> None:
    """Taps the first row whose ``column`` cell contains ``text``."""
    from PySide6.QtWidgets import QTableWidget

    assert isinstance(table, QTableWidget)
    for row in range(table.rowCount()):
        item = table.item(row, column)
        if item is not None and text in item.text():
            table.selectRow(row)
            return
    raise AssertionError(f"no row with {text!r}")


def run_reason_dialog(qtbot: object, window: MainWindow, action_button: QWidget,
                      reason: str) -> None:
    """Taps an action that asks for a reason, types it and submits."""
    from ui.admin.base import ReasonDialog

    tap(qtbot, action_button)
    dialog = dialog_of(qtbot, ReasonDialog)
    dialog.reason.setPlainText(reason)  # type: ignore[attr-defined]
    submit(qtbot, window, dialog)
    wait(qtbot, lambda: not dialog.isVisible())
    idle(qtbot, window)
