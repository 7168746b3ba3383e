"""An account left with no unit (made before "all units" was a choice) sees no resident on an
updated tablet, and is told why instead of facing an empty list."""

from __future__ import annotations

from mar_desktop import kinds
from mar_desktop.envelope import SYSTEM_ACTOR
from mar_desktop.model import User
from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, visible_texts
from ui.main_window import MainWindow


def test_a_nurse_with_no_unit_sees_no_resident_and_is_told_why(
    qtbot, window: MainWindow, facility: Facility1
):
    def strip_units() -> None:
        before = facility.store.reader().user("u-nurse")
        assert before is not None
        after = User.model_validate(before.model_dump() | {"unit_ids": ()})
        body = kinds.UserChanged(before=before, after=after, reason="older tablet")
        facility.store.ledger.append([kinds.draft(kinds.USER_CHANGED, SYSTEM_ACTOR, body)])

    window.runner.run_on_worker(strip_units)
    sign_in(qtbot, window, facility, "nurse")
    idle(qtbot, window)
    texts = " ".join(visible_texts(window.overview))
    assert "not assigned to any unit" in texts
    assert "Holloway" not in texts and "Osei" not in texts
