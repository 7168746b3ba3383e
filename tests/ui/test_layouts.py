"""Every main screen at 1280×800 and 1920×1080, landscape and portrait: nothing clipped — also
the MAR with a dose's confirmation and a history row's actions open, and a PRN's one-tap
reasons and pain score; a Schedule II dose with its witness line, a dose with hold parameters
and its vitals, the lock screen and the alerts; the "Verify orders" screen with an imported
order beside its source.

At each size: every button at least 48 px high and (outside scroll areas) fully inside the
window, no two widgets of one layout overlapping, none overflowing its parent, no main content
needing a horizontal scroll bar, no label or table cell whose text is cut off (elided or
wrapped past its height, :func:`tests.ui.layout_checks.clipped_text`), and the window really at
the size asked (a minimum size larger than the screen would push it off the screen)."""

from __future__ import annotations

import contextlib
import threading

import pytest
from PySide6.QtWidgets import QPushButton, QWidget

from mar_desktop import kinds
from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft
from mar_desktop.model import Outcome
from tests.ui.harness import (
    INSULIN_GTIN,
    METOPROLOL_GTIN,
    OTHER_GTIN,
    OXYCODONE_GTIN,
    PASSWORD,
    Facility1,
    med_scan,
)
from tests.ui.layout_checks import problems
from tests.ui.steps import (
    idle,
    open_dialog,
    open_resident_by_wristband,
    scan,
    sign_in,
    tap,
    visible_texts,
    wait,
)
from ui.backend import DemoAccount
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
          size: tuple[int, int], *, text: bool = True) -> list[str]:
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
    window.alerts.count_changed.emit(13)  # a wider sidebar badge leaves the screens less room
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
    found += check(qtbot, window, admin, "administration, Given chosen", size)  # what is signed
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


def raise_alert(facility: Facility1) -> None:
    """A double-dose alert as a merge raises it, on Bernard Osei's oxycodone (written from a
    worker thread, as sync writes it: the GUI thread never touches the database)."""
    alert = kinds.AlertRaised(alert_id="alert-layout", alert_type="double_dose",
                              resident_id="r2", order_id="o-oxy",
                              detail="Oxycodone 5 mg recorded on two tablets for the 08:00 dose")
    draft = EntryDraft(kinds.ALERT_RAISED, SYSTEM_ACTOR, kinds.body_json(alert))
    writer = threading.Thread(target=lambda: facility.store.ledger.append([draft]))
    writer.start()
    writer.join()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_controlled_hold_lock_and_alert_screens_fit(qtbot, window: MainWindow,
                                                    facility: Facility1, size: tuple[int, int]):
    raise_alert(facility)
    window.resize(*size)
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100002")
    admin = window.administration
    scan(qtbot, window.mar.scan, med_scan(INSULIN_GTIN))  # hold parameters: the glucose
    wait(qtbot, lambda: window.stack.currentWidget() is admin and "vital_glucose" in admin._fields)
    admin._fields["vital_glucose"].setText("55")
    wait(qtbot, lambda: "HOLD this dose" in admin.banner.text())
    found = check(qtbot, window, admin, "dose held by its vitals", size)
    tap(qtbot, window.findChild(object, "adminBack"))
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar)
    scan(qtbot, window.mar.scan, med_scan(OXYCODONE_GTIN))  # Schedule II: the witness line
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: "witness" in admin.form.field_error("witness").lower())
    found += check(qtbot, window, admin, "Schedule II without its witness", size)
    tap(qtbot, window.findChild(object, "witnessSignIn"))
    dialog = open_dialog(qtbot)
    dialog.username.setText("nurse2")
    dialog.password.setText(PASSWORD)
    dialog.code.setText(facility.code("nurse2"))
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: admin.witness_state.text().startswith("✓ Tobias Brandt"))
    found += check(qtbot, window, admin, "Schedule II with its witness", size)
    window.nav["alerts"].click()
    wait(qtbot, lambda: window.stack.currentWidget() is window.alerts
         and window.alerts.rows.count() > 0)
    found += check(qtbot, window, window.alerts, "alerts", size)
    window.lock_now()
    wait(qtbot, lambda: window.root.currentWidget() is window.lock_screen)
    found += check(qtbot, window, window.lock_screen, "lock screen", size)
    window.lock_screen.password.setText(PASSWORD)
    tap(qtbot, window.lock_screen.unlock_button)
    wait(qtbot, lambda: window.root.currentWidget() is window.work)
    assert not found, "\n".join(found)


DEMO_ACCOUNTS = [
    DemoAccount("Dana Whitfield", "Facility admin", "admin", "copper kettle on a quiet porch",
                lambda: "123456"),
    DemoAccount("Marisol Ortega", "Nurse", "nurse", "lanterns drift over the harbor",
                lambda: "234567"),
    DemoAccount("Keisha Lambert", "CNA / med aide", "cna", "blue bicycles in the orchard",
                lambda: "345678"),
    DemoAccount("Harold Finch", "Surveyor (read-only)", "surveyor", "paper lanterns and quiet "
                "maps", lambda: "456789"),
]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_demo_login_fits(qtbot, window: MainWindow, size: tuple[int, int]):
    """``--demo``'s accounts panel beside the sign-in form, or under it on a portrait tablet:
    never over it, never off the page."""
    window.resize(*size)
    window.login.set_demo_accounts(DEMO_ACCOUNTS)
    panel = window.login.demo_panel
    assert panel is not None
    wait(qtbot, panel.isVisible)  # a widget added to a shown page shows at the next turn
    found = check(qtbot, window, window.login, "demo login", size)
    form = window.login.sign_in_button.parentWidget()
    assert form is not None
    if panel.geometry().intersects(form.geometry()):
        found.append("demo login: the demo panel overlaps the sign-in form")
    if not window.login.rect().contains(panel.geometry()):
        found.append(f"demo login: the demo panel at {panel.geometry()} runs off the page")
    assert not found, "\n".join(found)


def test_the_compact_sidebar_refits_when_its_buttons_change(
    qtbot, window: MainWindow, facility: Facility1
):
    """On a portrait tablet the sidebar is as wide as its widest button as it reads now: a
    larger alerts count, or a button added after it was fitted (the staged build of a window
    opened at its portrait size), never cuts a button's text."""
    window.resize(800, 1280)
    sign_in(qtbot, window, facility, "nurse")
    window.alerts.count_changed.emit(13)
    wait(qtbot, lambda: window.nav["alerts"].text().endswith("(13)"))
    sidebar = window._sidebar
    assert sidebar is not None
    sidebar.add_nav("later", "▤  Handover notes", lambda: None)
    wait(qtbot, window.nav["later"].isVisible)
    idle(qtbot, window)
    assert not sidebar_problems(window), sidebar_problems(window)


def admit_long_named_resident(facility: Facility1) -> None:
    """A resident whose family name is one long word, on the nurse's unit (written from a
    worker thread: the GUI thread never touches the database)."""
    from datetime import date

    from mar_desktop.model import Resident
    from mar_desktop.permissions import Principal
    from mar_desktop.services.base import Ports
    from mar_desktop.services.reference import ReferenceService

    def admit() -> None:
        store = facility.store
        admin = next(u for u in store.reader().users() if u.username == "admin")
        ports = Ports(store.ledger, store.reader, facility.clock)
        ReferenceService(ports).admit_resident(
            Principal(user=admin, device_id=store.device_id),
            Resident(resident_id="r-long", unit_id="unit-a", given_name="Wilhelmina",
                     family_name="Vanderschellingen", date_of_birth=date(1936, 5, 1),
                     room="103B", wristband_id="WB100009"))

    writer = threading.Thread(target=admit)
    writer.start()
    writer.join()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_overview_shows_a_long_name_whole(qtbot, window: MainWindow, facility: Facility1,
                                              size: tuple[int, int]):
    """The resident column is never narrower than a name's longest word, even on a portrait
    tablet with a two-digit alerts badge in the sidebar."""
    admit_long_named_resident(facility)
    window.resize(*size)
    sign_in(qtbot, window, facility, "nurse")
    window.alerts.count_changed.emit(13)
    wait(qtbot, lambda: any("Vanderschellingen" in t for t in visible_texts(window.overview)))
    found = check(qtbot, window, window.overview, "unit overview", size)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_dose_opened_from_the_pass_before_any_scan_fits(
    qtbot, window: MainWindow, facility: Facility1, size: tuple[int, int]
):
    """Tapped on the med pass, the dose opens with its two checks open and their "by hand"
    buttons shown: side by side where they fit, one under the other where they do not."""
    from PySide6.QtCore import Qt

    window.resize(*size)
    sign_in(qtbot, window, facility, "nurse")
    window.nav["pass"].click()
    wait(qtbot, lambda: window.pass_list.found is not None and window.pass_list.items)
    idle(qtbot, window)
    table = window.pass_list.table
    centre = table.visualRect(table.model().index(0, 3)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.confirm_identity.isVisible())
    found = check(qtbot, window, admin, "dose before its scans", size)
    assert not found, "\n".join(found)
