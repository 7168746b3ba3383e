"""An account left with no unit (made before "all units" was a choice) sees no resident on an
updated tablet, and is told why instead of facing an empty list."""

from __future__ import annotations

from mar_desktop import kinds
from mar_desktop.envelope import SYSTEM_ACTOR
from mar_desktop.model import User
from mar_desktop.people.statements import AccountRecord
from storage.credentials import SqlCredentialStore
from tests.accounts import open_key
from tests.ui.harness import PASSWORD, Facility1
from tests.ui.steps import idle, sign_in, visible_texts
from ui.main_window import MainWindow


def test_a_nurse_with_no_unit_sees_no_resident_and_is_told_why(
    qtbot, window: MainWindow, facility: Facility1
):
    def strip_units() -> None:
        """The account's authority (its signed record) and the ledger's view both say no
        unit, as an account made before "all units" was a choice by an older admin tablet."""
        before = facility.store.reader().user("u-nurse")
        assert before is not None
        after = User.model_validate(before.model_dump() | {"unit_ids": ()})
        body = kinds.UserChanged(before=before, after=after, reason="older tablet")
        facility.store.ledger.append([kinds.draft(kinds.USER_CHANGED, SYSTEM_ACTOR, body)])
        creds = SqlCredentialStore(facility.store.connect_reader, facility.clock)
        try:
            admin_key = open_key(creds, "u-admin", PASSWORD)
            record = creds.latest("u-nurse")
            assert isinstance(record, AccountRecord)
            creds.append(record.revise(
                change="account_changed", at=facility.clock.now(), by="u-admin",
                device_id=facility.store.device_id, unit_ids=(),
            ).signed(admin_key))
        finally:
            creds.close()

    window.runner.run_on_worker(strip_units)
    sign_in(qtbot, window, facility, "nurse")
    idle(qtbot, window)
    texts = " ".join(visible_texts(window.overview))
    assert "not assigned to any unit" in texts
    assert "Holloway" not in texts and "Osei" not in texts
