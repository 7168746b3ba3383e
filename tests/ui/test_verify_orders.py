"""The "Verify orders" screen on the real stack: a pharmacy's imported order beside the values
the pharmacy sent, a changed re-import back in the queue with the previous verified version
beside it, the author never verifying, a return needing a reason, a verified order's dose
givable on the MAR, and no entry for those who do not verify (a CNA)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mar_desktop.changes import Changes
from mar_desktop.permissions import Principal
from tests.ui.harness import Facility1, build_facility
from tests.ui.steps import idle, open_resident_by_wristband, sign_in, tap, wait
from tests.ui.verify_setup import import_bundle, seed_pending
from ui.main_window import MainWindow
from ui.screens import verification_section
from ui.screens.verification import RETURN_REASON_NEEDED, VerificationScreen
from ui.screens.verification_words import CHANGED
from ui.startup import gui_deferral
from ui.tasks import TaskRunner


@pytest.fixture
def facility(tmp_path: Path, memory_keyring: object, runner: TaskRunner) -> Facility1:
    """The UI facility with three items awaiting verification (:mod:`tests.ui.verify_setup`);
    the window fixture closes its backend."""
    built = build_facility(tmp_path, defer=gui_deferral(runner))
    seed_pending(built)
    return built


@pytest.fixture(autouse=True)
def _verify_section(monkeypatch: pytest.MonkeyPatch) -> None:
    """The section registered before ``attach``, as start-up does."""
    original = MainWindow.attach

    def attach(self: MainWindow, backend, demo_accounts=()):  # type: ignore[no-untyped-def]
        verification_section.register(self)
        original(self, backend, demo_accounts)

    monkeypatch.setattr(MainWindow, "attach", attach)


def open_queue(qtbot: object, window: MainWindow) -> VerificationScreen:
    nav = window.nav[verification_section.SECTION_KEY]
    assert nav.isVisible()
    tap(qtbot, nav)
    screen = window._section_widgets[verification_section.SECTION_KEY]
    assert isinstance(screen, VerificationScreen)
    wait(qtbot, lambda: screen.loaded)
    return screen


def queue_texts(screen: VerificationScreen) -> list[str]:
    return [" | ".join(screen.queue.item(r, c).text() for c in range(screen.queue.columnCount()))
            for r in range(screen.queue.rowCount())]


def open_row(qtbot: object, screen: VerificationScreen, words: str) -> None:
    row = next(i for i, text in enumerate(queue_texts(screen)) if words in text)
    screen.queue.selectRow(row)
    wanted = screen.items[row].target_entry_id
    wait(qtbot, lambda: screen.current is not None and screen.detail.isVisible()
         and screen.current.target_entry_id == wanted)


def cells_by_field(screen: VerificationScreen) -> dict[str, tuple[str, ...]]:
    return {cells[0].split("\n")[0]: cells for cells in screen.comparison_cells()}


def pending_count(runner: TaskRunner, facility: Facility1) -> int:
    nurse = facility.store.reader  # read on the worker: no database on the GUI thread

    def count() -> int:
        user = nurse().user("u-nurse2")
        assert user is not None
        principal = Principal(user=user, device_id=facility.store.device_id)
        return len(facility.backend.verification.pending(principal))

    return int(runner.run_on_worker(count))


def test_an_imported_order_shows_the_pharmacy_values_beside_ours(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse2")
    nav = window.nav[verification_section.SECTION_KEY]
    wait(qtbot, lambda: nav.text().endswith("(3)"))  # the badge, read at sign-in
    screen = open_queue(qtbot, window)
    texts = queue_texts(screen)
    assert len(texts) == 3
    imported = next(t for t in texts if "pharmacy import" in t)
    assert "101" in imported and "Holloway, Agnes" in imported and "Dana Whitfield" in imported
    open_row(qtbot, screen, "pharmacy import")
    headers = [screen.compare.horizontalHeaderItem(c).text()
               for c in range(screen.compare.columnCount())]
    assert headers == ["Field", "Pharmacy", "Our MAR"]
    assert "Pharmacy: the values the pharmacy sent" in screen.facts.text()
    rows = cells_by_field(screen)
    assert rows["Drug"] == ("Drug", "Metoprolol tartrate", "Metoprolol tartrate")
    assert rows["Dose"] == ("Dose", "25 mg", "25 mg")
    assert rows["Frequency"] == ("Frequency", "at 08:00, 20:00", "at 08:00, 20:00")
    assert rows["Prescriber"] == ("Prescriber", "Dr. R. Okonkwo", "Dr. R. Okonkwo")
    # the pharmacy's -06:00 time and our UTC one are the same moment: no false difference
    assert rows["Start"][1] == rows["Start"][2] and "≠" not in rows["Start"][0]
    assert screen.verify_button.isEnabled() and not screen.why_not.isVisible()


def test_a_verified_import_changed_by_the_pharmacy_awaits_verification_again(
    qtbot: object, window: MainWindow, facility: Facility1, runner: TaskRunner
) -> None:
    sign_in(qtbot, window, facility, "nurse2")
    screen = open_queue(qtbot, window)
    open_row(qtbot, screen, "pharmacy import")
    tap(qtbot, screen.verify_button)
    wait(qtbot, lambda: screen.loaded and len(screen.items) == 2)
    message = screen.banner.text()
    assert "Verified" in message and "Metoprolol tartrate" in message
    assert "Holloway, Agnes" in message and "Tobias Brandt" in message
    assert "Signed by Tobias Brandt's own key." in message  # the stored signature checked
    assert not any("pharmacy import" in t for t in queue_texts(screen))
    # the pharmacy doubles the dose; the re-import arrives as a pulled change would
    outcome = runner.run_on_worker(lambda: import_bundle(facility, dose=50))
    assert outcome.changed
    window.ctx.changes.announce(Changes(all_residents=True))  # type: ignore[union-attr]
    wait(qtbot, lambda: any("Changed order (pharmacy import)" in t for t in queue_texts(screen)))
    open_row(qtbot, screen, "Changed order (pharmacy import)")
    assert screen.compare.columnCount() == 4
    dose = cells_by_field(screen)["Dose"]
    assert dose[1:] == ("50 mg", "50 mg", "25 mg")  # pharmacy, ours, the verified version
    assert CHANGED in dose[0]
    assert CHANGED not in cells_by_field(screen)["Drug"][0]


def test_the_author_cannot_verify_the_order_they_entered(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")  # entered the docusate order as an admin
    screen = open_queue(qtbot, window)
    open_row(qtbot, screen, "Docusate")
    assert not screen.verify_button.isEnabled()
    assert screen.why_not.isVisible()
    assert "You entered this; a second person must verify it." in screen.why_not.text()
    assert not screen.queue.isVisible()  # the comparison has the screen's height
    tap(qtbot, screen.findChild(type(screen.verify_button), "verifyBack"))
    assert screen.queue.isVisible() and screen.current is None


def test_returning_needs_a_reason_and_writes_nothing_without_one(
    qtbot: object, window: MainWindow, facility: Facility1, runner: TaskRunner
) -> None:
    sign_in(qtbot, window, facility, "nurse2")
    screen = open_queue(qtbot, window)
    open_row(qtbot, screen, "Amlodipine")
    tap(qtbot, screen.return_button)
    idle(qtbot, window)
    assert screen.reason_error.isVisible() and screen.reason_error.text() == RETURN_REASON_NEEDED
    assert screen.reason.property("invalid") is True
    assert pending_count(runner, facility) == 3  # nothing was written
    screen.reason.setText("Prescriber wrote 2.5 mg; please re-enter.")
    tap(qtbot, screen.return_button)
    wait(qtbot, lambda: screen.loaded and len(screen.items) == 2)
    assert "Returned" in screen.banner.text() and "Amlodipine" in screen.banner.text()
    assert pending_count(runner, facility) == 2


def test_a_verified_order_becomes_givable_on_the_mar(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse2")
    open_resident_by_wristband(qtbot, window, "WB200001")  # Clarence Mbeki

    def amlodipine_status() -> str:
        due = window.mar.due
        rows = [r for r in due._rows if "Amlodipine" in r.cells[1]]
        return rows[0].cells[0] if rows else ""

    wait(qtbot, lambda: "awaiting verification" in amlodipine_status())
    screen = open_queue(qtbot, window)
    open_row(qtbot, screen, "Amlodipine")
    tap(qtbot, screen.verify_button)
    wait(qtbot, lambda: screen.loaded and len(screen.items) == 2)
    open_resident_by_wristband(qtbot, window, "WB200001")
    wait(qtbot, lambda: amlodipine_status() != "" and "awaiting" not in amlodipine_status())
    assert "Due" in amlodipine_status()


def test_a_cna_has_no_verify_orders_entry(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "cna")
    assert not window.nav[verification_section.SECTION_KEY].isVisible()
    assert window.nav["pass"].isVisible()


def test_a_difference_is_marked_in_words_and_colour(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    from dataclasses import replace

    from mar_desktop.clinical.verification import SourceRow
    from ui.screens.verification import DIFF_BACKGROUND
    from ui.screens.verification_words import DIFFERS

    sign_in(qtbot, window, facility, "nurse2")
    screen = open_queue(qtbot, window)
    open_row(qtbot, screen, "pharmacy import")
    item = screen.current
    assert item is not None
    wrong = tuple(SourceRow(r.field, "50 mg", r.transcribed) if r.field == "dose" else r
                  for r in item.rows)  # a transcription that does not match the pharmacy
    screen.show_item(replace(item, rows=wrong))
    rows = cells_by_field(screen)
    assert rows["Dose"] == (f"Dose\n{DIFFERS}", "50 mg", "25 mg")
    assert DIFFERS not in rows["Drug"][0]
    dose_row = next(r for r in range(screen.compare.rowCount())
                    if screen.compare.item(r, 0).text().startswith("Dose"))
    assert screen.compare.item(dose_row, 1).background().color() == DIFF_BACKGROUND
