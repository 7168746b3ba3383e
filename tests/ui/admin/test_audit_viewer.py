"""The audit viewer a person can read: sync events out of the way unless asked for, a change
shown field by field, the filtered view exported (owner-only, audited), file dialogs that
start in the documents folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mar_desktop import audit
from mar_desktop.envelope import SYSTEM_ACTOR
from tests.ui.admin.steps import audit_actions, open_section, run_reason_dialog, select_row
from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, tap, wait
from ui.main_window import MainWindow


def add_sync_events(window: MainWindow, facility: Facility1, count: int) -> None:
    drafts = [audit.audit_draft(audit.SYNCED, actor=SYSTEM_ACTOR, user_name="system",
                                detail=f"pushed {n}") for n in range(count)]
    window.runner.run_on_worker(lambda: facility.store.ledger.append(drafts))


def test_sync_events_are_hidden_unless_asked_for(qtbot, window: MainWindow,
                                                 facility: Facility1):
    add_sync_events(window, facility, 30)
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_audit")
    assert screen.shown_actions() and "synced" not in screen.shown_actions()
    tap(qtbot, screen.show_sync)
    tap(qtbot, screen.search_button)
    idle(qtbot, window)
    assert screen.shown_actions().count("synced") == 30


def test_a_change_shows_field_by_field(qtbot, window: MainWindow, facility: Facility1):
    sign_in(qtbot, window, facility, "admin")
    users = open_section(qtbot, window, "admin_users")
    select_row(qtbot, users.table, "nurse2")
    run_reason_dialog(qtbot, window, users.account_actions["active"], "Left the facility")
    screen = open_section(qtbot, window, "admin_audit")
    screen.entity.setText("u-nurse2")
    tap(qtbot, screen.search_button)
    idle(qtbot, window)
    row = screen.shown_actions().index("user_changed")
    screen.table.selectRow(row)
    assert screen.detail.changed_fields() == [("Active", "yes", "no")]
    assert "{" not in screen.detail.summary.text()  # no raw JSON


def test_export_writes_the_filtered_view_and_is_audited(
    qtbot, window: MainWindow, facility: Facility1, tmp_path: Path
):
    add_sync_events(window, facility, 3)
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_audit")
    asked: list[str] = []
    target = tmp_path / "audit.csv"

    def ask(suggested: str) -> str:
        asked.append(suggested)
        return str(target)

    screen.ask_save_path = ask
    tap(qtbot, screen.export_button)
    wait(qtbot, lambda: screen.last_export == target)
    assert asked and asked[0].startswith("audit-log-") and asked[0].endswith(".csv")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text(encoding="utf-8")
    assert "login" in text and ",synced," not in text  # what the screen shows
    assert "exported" in audit_actions(facility, window)


@pytest.mark.parametrize("which", ["pdf", "folder", "audit"])
def test_save_dialogs_open_in_the_documents_folder(qtbot, window: MainWindow,
                                                   facility: Facility1, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch, which: str):
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QFileDialog

    documents = tmp_path / "Documents"
    documents.mkdir()
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda _where: str(documents))
    seen: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda _parent, _title, start, _filter: (seen.append(start), ("", ""))[1])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda _parent, _title, start: seen.append(start) or "")
    sign_in(qtbot, window, facility, "admin")
    if which == "audit":
        screen = open_section(qtbot, window, "admin_audit")
        screen.export()
    else:
        screen = open_section(qtbot, window, "admin_reports")
        (screen._ask_save_path("shift.pdf") if which == "pdf" else screen._ask_folder())
    assert seen and seen[0].startswith(str(documents))
