from __future__ import annotations

from PySide6.QtWidgets import QLineEdit

from tests.ui.admin.steps import audit_actions, dialog_of, open_section, submit
from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, tap, visible_texts, wait
from ui.admin.user_dialogs import NewUserDialog, TemporaryPasswordDialog
from ui.admin.users import state_text
from ui.main_window import MainWindow


def test_create_user_shows_temporary_password_once(qtbot, window: MainWindow,
                                                    facility: Facility1):
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_users")
    assert "nurse" in screen.rows_by_username()
    tap(qtbot, screen.new_button)
    dialog = dialog_of(qtbot, NewUserDialog)
    dialog.full_name.setText("Priya Raman")
    dialog.username.setText("p.raman")
    dialog.initials.setText("PR")
    dialog.credentials.setText("LPN")
    tap(qtbot, dialog.ok)  # no unit chosen: refused at the field, nothing made
    assert "Choose at least one unit, or All units" in dialog.error_texts()["unit_ids"]
    assert dialog.isVisible() and "p.raman" not in screen.rows_by_username()
    next(box for box, uid in dialog.units.boxes if uid == "unit-a").click()  # Rose Wing
    submit(qtbot, window, dialog)
    shown = dialog_of(qtbot, TemporaryPasswordDialog)
    password = shown.password.text()
    assert len(password) >= 20 and password in visible_texts(shown)
    assert not shown.done_button.isEnabled()  # only after confirming the hand-over
    tap(qtbot, shown.handed)
    tap(qtbot, shown.done_button)
    wait(qtbot, lambda: not shown.isVisible())
    idle(qtbot, window)
    assert shown.password.text() == ""
    row = screen.rows_by_username()["p.raman"]
    assert row.user.full_name == "Priya Raman" and row.must_change_password
    assert row.user.unit_ids == ("unit-a",)
    texts = visible_texts(window)
    assert any(t.startswith("Priya Raman, LPN\np.raman") for t in texts)
    assert not any(password in t for t in texts)
    assert "user_created" in audit_actions(facility, window, row.user.user_id)


def test_bad_username_is_shown_next_to_the_field(qtbot, window: MainWindow,
                                                  facility: Facility1):
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_users")
    tap(qtbot, screen.new_button)
    dialog = dialog_of(qtbot, NewUserDialog)
    dialog.full_name.setText("Priya Raman")
    dialog.username.setText("Priya Raman")
    tap(qtbot, dialog.ok)
    errors = dialog.error_texts()
    assert "lower-case" in errors["username"]
    assert dialog.isVisible() and isinstance(dialog.username, QLineEdit)
    assert "p.raman" not in screen.rows_by_username()


def test_unlock_mfa_reset_and_deactivate_are_audited(qtbot, window: MainWindow,
                                                     facility: Facility1):
    from mar_desktop.people.throttle import ThrottleState
    from tests.ui.admin.steps import run_reason_dialog, select_row

    def lock_nurse2() -> None:
        from storage.credentials import SqlCredentialStore

        credentials = SqlCredentialStore(facility.store.connect_reader, facility.clock)
        credentials.save_throttle_state(
            "u-nurse2", ThrottleState(failures=10, locked_at=facility.clock.now()))
        credentials.close()

    window.runner.run_on_worker(lock_nurse2)
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_users")
    assert screen.rows_by_username()["nurse2"].locked
    select_row(qtbot, screen.table, "nurse2")
    assert "Locked" in screen.detail.text() and "Active" not in screen.detail.text()
    unlock = screen.account_actions["unlock"]
    run_reason_dialog(qtbot, window, unlock, "Forgot password, ID checked")
    run_reason_dialog(qtbot, window, screen.account_actions["mfa"], "Lost phone")
    run_reason_dialog(qtbot, window, screen.account_actions["active"], "Left the facility")
    wait(qtbot, lambda: not screen.rows_by_username()["nurse2"].user.active)
    row = screen.rows_by_username()["nurse2"]
    assert not row.locked and not row.mfa_enrolled and not row.user.active
    assert "Deactivated" in state_text(row)
    audit = open_section(qtbot, window, "admin_audit")
    audit.entity.setText("u-nurse2")
    tap(qtbot, audit.search_button)
    idle(qtbot, window)
    shown = audit.shown_actions()
    assert {"unlocked", "mfa_reset", "user_changed"} <= set(shown)
    texts = visible_texts(audit)
    assert any("Lost phone" in t for t in texts)


def test_all_units_is_a_choice_and_greys_the_named_units(qtbot, window: MainWindow,
                                                          facility: Facility1):
    from mar_desktop.model import ALL_UNITS

    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_users")
    tap(qtbot, screen.new_button)
    dialog = dialog_of(qtbot, NewUserDialog)
    dialog.full_name.setText("Priya Raman")
    dialog.username.setText("p.raman")
    dialog.initials.setText("PR")
    dialog.units.all_units.click()
    assert not any(box.isEnabled() for box, _uid in dialog.units.boxes)
    submit(qtbot, window, dialog)
    shown = dialog_of(qtbot, TemporaryPasswordDialog)
    shown.reject()
    idle(qtbot, window)
    assert screen.rows_by_username()["p.raman"].user.unit_ids == (ALL_UNITS,)


def test_one_status_per_account() -> None:
    """Locked wins over active; a deactivated account says only that."""
    from mar_desktop.model import Role, User
    from mar_desktop.services.admin_reads import StaffAccount

    user = User(user_id="u", username="u", full_name="U", initials="U", role=Role.NURSE)

    def row(**state: object) -> StaffAccount:
        values: dict[str, object] = {"user": user, "locked": False, "failures": 0,
                                     "has_credentials": True, "must_change_password": False,
                                     "mfa_enrolled": True}
        values.update(state)
        return StaffAccount(**values)  # type: ignore[arg-type]

    assert state_text(row()) == "✓ Active"
    assert state_text(row(locked=True, failures=10)) == "✕ Locked"
    assert state_text(row(user=user.model_copy(update={"active": False}), locked=True)) \
        == "⊘ Deactivated"
    assert state_text(row(must_change_password=True, mfa_enrolled=False)) \
        == "◷ Temporary password"
    assert state_text(row(failures=2)) == "⚠ 2 failed sign-ins"
