"""Every main screen at 1280×800 and 1920×1080, landscape and portrait: nothing clipped — also
the MAR with a dose's confirmation and a history row's actions open, and a PRN's one-tap
reasons and pain score; the "Verify orders" screen with an imported order beside its source.

At each size: every button at least 48 px high and (outside scroll areas) fully inside the
window, no two widgets of one layout overlapping, none overflowing its parent, no main content
needing a horizontal scroll bar, and the window really at the size asked (a minimum size
larger than the screen would push it off the screen)."""

from __future__ import annotations

import contextlib

import pytest
from PySide6.QtWidgets import QPushButton, QWidget

from mar_desktop.model import Outcome
from tests.ui.harness import METOPROLOL_GTIN, OTHER_GTIN, Facility1, med_scan
from tests.ui.layout_checks import problems
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, tap, wait
from ui.main_window import MainWindow
from ui.screens import verification_section
from ui.tasks import TaskRunner

SIZES = [(1280, 800), (1920, 1080), (800, 1280), (1080, 1920)]


@pytest.fixture(autouse=True)
def _verify_section(monkeypatch: pytest.MonkeyPatch) -> None:
    """The "Verify orders" section registered before ``attach``, as start-up does."""
    original = MainWindow.attach

    def attach(self: MainWindow, backend, demo_accounts=()):  # type: ignore[no-untyped-def]
        verification_section.register(self)
        original(self, backend, demo_accounts)

    monkeypatch.setattr(MainWindow, "attach", attach)


def check(qtbot: object, window: MainWindow, page: QWidget, what: str,
          size: tuple[int, int], *, text: bool = False) -> list[str]:
    idle(qtbot, window)
    wait(qtbot, lambda: (window.width(), window.height()) == size)
    # Qt lays out and shows or hides scroll bars from posted events; on a loaded machine the
    # first look can come before they ran. Give the layout up to 3 s to settle: a real
    # problem stays and is reported, a layout still on its way is not one.
    with contextlib.suppress(qtbot.TimeoutError):  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: not problems(page, window, text=text), timeout=3000)  # type: ignore[attr-defined]
    return [f"{what}: {p}" for p in problems(page, window, text=text)]


def sidebar_problems(window: MainWindow) -> list[str]:
    """The sidebar (compact on a portrait tablet) shows every nav button's whole text."""
    sidebar = window._sidebar
    assert sidebar is not None
    return [f"sidebar: {b.text()!r} is cut off ({b.width()} < {b.sizeHint().width()} px)"
            for b in sidebar.findChildren(QPushButton)
            if b.isVisible() and b.width() < b.sizeHint().width()]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_clinical_screens_fit(qtbot, window: MainWindow, facility: Facility1,
                              size: tuple[int, int]):
    window.resize(*size)
    found = check(qtbot, window, window.login, "login", size)
    sign_in(qtbot, window, facility, "nurse")
    found += check(qtbot, window, window.overview, "unit overview", size)
    found += sidebar_problems(window)
    window.nav["pass"].click()
    wait(qtbot, lambda: window.pass_list.found is not None)
    found += check(qtbot, window, window.pass_list, "med pass", size)
    open_resident_by_wristband(qtbot, window, "WB100001")
    found += check(qtbot, window, window.mar, "resident MAR", size)
    scan(qtbot, window.mar.scan, med_scan(METOPROLOL_GTIN))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    found += check(qtbot, window, admin, "administration", size)
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar
         and window.mar.confirmation.isVisible() and window.mar.history._rows)
    found += check(qtbot, window, window.mar, "MAR with the confirmation", size)
    confirmation = window.mar.confirmation
    if confirmation.height() < confirmation.heightForWidth(confirmation.width()):
        found.append(f"confirmation: {confirmation.height()} px high, its text needs "
                     f"{confirmation.heightForWidth(confirmation.width())}")
    window.mar.history.table.cellClicked.emit(0, 0)  # a row's actions, under it
    found += check(qtbot, window, window.mar, "MAR with a history row's actions", size)
    scan(qtbot, window.mar.scan, med_scan(OTHER_GTIN))  # the PRN: reasons and pain score
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.form.prn_choices is not None)
    found += check(qtbot, window, admin, "PRN administration", size)
    assert not found, "\n".join(found)


def table_overflow(table) -> list[str]:  # type: ignore[no-untyped-def]
    """A table whose columns are wider than its view (its sideways scroll bar is off)."""
    idle_width = table.viewport().width()
    used = sum(table.columnWidth(c) for c in range(table.columnCount()))
    widths = [table.columnWidth(c) for c in range(table.columnCount())]
    return [f"{table.objectName()}: columns {used} px {widths} in {idle_width} px"] \
        if used > idle_width \
        else []


VERIFY_SIZES = [(1280, 800), (800, 1280), (1920, 1080)]


@pytest.mark.parametrize("size", VERIFY_SIZES, ids=[f"{w}x{h}" for w, h in VERIFY_SIZES])
def test_the_verify_orders_screen_fits(qtbot, window: MainWindow, facility: Facility1,
                                       runner: TaskRunner, size: tuple[int, int]):
    from tests.ui.verify_setup import pharmacy_change, seed_pending
    from ui.screens.verification import VerificationScreen

    runner.run_on_worker(lambda: seed_pending(facility))
    runner.run_on_worker(lambda: pharmacy_change(facility))  # the widest: four columns
    window.resize(*size)
    sign_in(qtbot, window, facility, "nurse2")
    tap(qtbot, window.nav[verification_section.SECTION_KEY])
    screen = window._section_widgets[verification_section.SECTION_KEY]
    assert isinstance(screen, VerificationScreen)
    wait(qtbot, lambda: screen.loaded and len(screen.items) == 3)
    found = check(qtbot, window, screen, "verify orders (queue)", size, text=True)
    screen.queue.selectRow(next(i for i, item in enumerate(screen.items)
                                if item.pending.source == "import"))
    wait(qtbot, lambda: screen.current is not None and screen.detail.isVisible())
    assert screen.compare.columnCount() == 4
    found += check(qtbot, window, screen, "verify orders (a changed import beside its source)",
                   size, text=True)
    found += sidebar_problems(window)
    found += table_overflow(screen.compare)
    screen.back()
    found += table_overflow(screen.queue)
    targets = [screen.verify_button, screen.return_button, screen.reason]
    found += [f"{w.objectName()}: {w.height()} px high" for w in targets if w.height() < 44]
    assert not found, "\n".join(found)
