from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QDateTime

from tests.ui.admin.steps import audit_actions, open_section
from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, tap
from ui.main_window import MainWindow


def test_settings_change_persists_and_is_audited(qtbot, window: MainWindow,
                                                 facility: Facility1):
    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_settings")
    assert screen.inputs["missed_after_minutes"].text() == "240"
    screen.inputs["password_min_length"].setText("5")  # below the floor of 8
    tap(qtbot, screen.save_button)
    assert "at least 8" in screen.form.error_texts()["password_min_length"]
    screen.inputs["password_min_length"].setText("14")
    screen.inputs["missed_after_minutes"].setText("180")
    screen.add_code()
    last = screen.codes.rowCount() - 1
    for col, text in enumerate(("DIAL", "Resident at dialysis", "away")):
        screen.codes.item(last, col).setText(text)
    tap(qtbot, screen.save_button)
    idle(qtbot, window)
    assert "Settings saved" in screen.banner.text()
    settings = window.runner.run_on_worker(lambda: facility.store.reader().facility()).settings
    assert settings.missed_after_minutes == 180 and settings.password_min_length == 14
    assert settings.reason_codes[-1].code == "DIAL"
    assert "settings_changed" in audit_actions(facility, window)
    open_section(qtbot, window, "admin_settings")  # reloaded from the store
    assert screen.inputs["missed_after_minutes"].text() == "180"


def _set(edit, moment) -> None:  # type: ignore[no-untyped-def]
    edit.setDateTime(QDateTime(moment.year, moment.month, moment.day, moment.hour,
                               moment.minute, 0))


def test_audit_viewer_filters_by_user_and_time_range(qtbot, window: MainWindow,
                                                     facility: Facility1):
    from ui.admin.audit_viewer import RANGES

    start = facility.clock.now()  # the facility was set up at this instant
    facility.clock.advance(timedelta(hours=3))
    sign_in(qtbot, window, facility, "admin")
    users = open_section(qtbot, window, "admin_users")
    from tests.ui.admin.steps import run_reason_dialog, select_row

    select_row(qtbot, users.table, "nurse2")
    run_reason_dialog(qtbot, window, users.account_actions["mfa"], "New phone")
    audit = open_section(qtbot, window, "admin_audit")
    everyone = audit.shown_actions()
    assert "record_created" in everyone and "mfa_reset" in everyone
    # by user: the admin's own events only
    audit.user.setCurrentIndex(audit.user.findData("u-admin"))
    tap(qtbot, audit.search_button)
    idle(qtbot, window)
    assert audit.records and all(r.user_id == "u-admin" for r in audit.records)
    audit.user.setCurrentIndex(audit.user.findData("u-cna"))
    tap(qtbot, audit.search_button)
    idle(qtbot, window)
    assert audit.records == [] and "No events" in audit.banner.text()
    # by time range: from 1 h after the setup to now: only the later work
    audit.user.setCurrentIndex(0)
    audit.range.setCurrentIndex([days for _t, days in RANGES].index(-1))
    zone = audit.zone
    _set(audit.since, (start + timedelta(hours=1)).astimezone(zone))
    _set(audit.until, (facility.clock.now() + timedelta(minutes=5)).astimezone(zone))
    tap(qtbot, audit.search_button)
    idle(qtbot, window)
    later = audit.shown_actions()
    assert "mfa_reset" in later and "login" in later and "record_created" not in later


def test_audit_pages_lose_and_repeat_nothing(qtbot, window: MainWindow, facility: Facility1,
                                             monkeypatch):
    """Every setup event shares one timestamp (fake clock): paging must still be exact."""
    from ui.admin import audit_viewer

    monkeypatch.setattr(audit_viewer, "PAGE_SIZE", 4)
    sign_in(qtbot, window, facility, "admin")
    audit = open_section(qtbot, window, "admin_audit")
    audit.range.setCurrentIndex(3)  # all time
    audit.action.setCurrentIndex(audit.action.findData("record_created"))
    tap(qtbot, audit.search_button)
    idle(qtbot, window)
    seen: list[str] = []
    while True:
        seen += [r.entry_id for r in audit.records]
        assert len(audit.records) <= 4
        if not audit.older.isEnabled():
            break
        tap(qtbot, audit.older)
        idle(qtbot, window)
    expected = [a for a in audit_actions(facility, window) if a == "record_created"]
    assert len(seen) == len(set(seen)) == len(expected) > 8
    tap(qtbot, audit.newer)
    idle(qtbot, window)
    assert audit.newer.isEnabled() == (audit.paging.index > 0)


def test_verification_of_hand_entered_orders_is_on_by_default_and_turned_off_with_a_reason(
    qtbot, window: MainWindow, facility: Facility1
):
    from tests.ui.admin.steps import run_reason_dialog
    from tests.ui.steps import wait
    from ui.admin.verification_setting import OFF_WORDS, ON_WORDS

    sign_in(qtbot, window, facility, "admin")
    screen = open_section(qtbot, window, "admin_settings")
    card = screen.verification
    wait(qtbot, lambda: card.required is not None)
    assert card.required is True and card.state.text() == ON_WORDS
    run_reason_dialog(qtbot, window, card.toggle, "Pharmacy enters every order; one check")
    wait(qtbot, lambda: card.required is False)
    assert card.state.text() == OFF_WORDS and "now off" in screen.banner.text()
    stored = window.runner.run_on_worker(
        lambda: facility.store.reader().hand_entry_verification())
    assert stored is False
    assert audit_actions(facility, window).count("settings_changed") >= 1
    open_section(qtbot, window, "admin_settings")  # read again from the store
    wait(qtbot, lambda: card.state.text() == OFF_WORDS)


def test_a_director_of_nursing_changes_the_clinical_settings_only(
    qtbot, window: MainWindow, facility: Facility1
):
    from tests.ui.steps import wait
    from ui.admin.verification_setting import ON_WORDS

    sign_in(qtbot, window, facility, "don")
    assert window.nav["admin_settings"].isVisible()
    assert not window.nav["admin_users"].isVisible()
    screen = open_section(qtbot, window, "admin_settings")
    wait(qtbot, lambda: screen.facility is not None and screen.verification.required is not None)
    assert not screen.inputs["password_min_length"].isEnabled()
    assert not screen.inputs["inactivity_lock_seconds"].isEnabled()
    assert screen.inputs["missed_after_minutes"].isEnabled() and screen.security_note.isVisible()
    assert screen.verification.state.text() == ON_WORDS and screen.verification.toggle.isEnabled()
    screen.inputs["missed_after_minutes"].setText("200")
    tap(qtbot, screen.save_button)
    wait(qtbot, lambda: "Settings saved" in screen.banner.text())
    settings = window.runner.run_on_worker(lambda: facility.store.reader().facility()).settings
    assert settings.missed_after_minutes == 200
