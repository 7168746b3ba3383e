"""The admin screens and their dialogs at 1280×800 and 1920×1080, landscape and portrait:
nothing clipped, no text cut off, nothing scrolling sideways (the checks of
``tests/ui/test_layouts.py`` and ``tests/ui/layout_checks.py``), each screen with a row chosen
so its actions show, each dialog inside the window."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from tests.ui.harness import Facility1
from tests.ui.layout_checks import problems
from tests.ui.steps import idle, sign_in, wait
from tests.ui.test_layouts import SIZES, check
from ui.admin import ADMIN_KEYS, SECTIONS
from ui.main_window import MainWindow

ADMIN = [key for key, _title, _permission in SECTIONS if key in ADMIN_KEYS]


def admin_screens(qtbot: object, window: MainWindow) -> Iterator[tuple[str, QWidget]]:
    """Each admin screen in turn, opened from the sidebar, with its first row chosen where it
    has a list (the staff screen's actions only show then): (key, screen)."""
    from PySide6.QtWidgets import QTableWidget

    for key in ADMIN:
        window.nav[key].click()
        screen = window._section_widgets[key]
        wait(qtbot, lambda s=screen: window.stack.currentWidget() is s)
        idle(qtbot, window)
        first = screen.findChild(QTableWidget)
        if first is not None and first.rowCount() and first.objectName() != "reasonCodes":
            first.selectRow(min(2, first.rowCount() - 1))
            idle(qtbot, window)
        yield key, screen


def admin_dialogs(qtbot: object, window: MainWindow) -> Iterator[tuple[str, QDialog]]:
    """Every admin dialog in turn, opened as an admin would, then closed: (name, dialog)."""
    from ui.admin.residents import ResidentsScreen
    from ui.admin.users import UsersScreen

    users = window._section_widgets["admin_users"]
    residents = window._section_widgets["admin_residents"]
    assert isinstance(users, UsersScreen) and isinstance(residents, ResidentsScreen)
    openers = [
        ("admin_users", "new account", users.new_user),
        ("admin_users", "units", users.change_units),
        ("admin_users", "role", users.change_role),
        ("admin_users", "reset authenticator", users.reset_mfa),
        ("admin_residents", "admit", residents.admit),
        ("admin_residents", "transfer", residents.transfer),
        ("admin_residents", "new order", residents.add_order),
        ("admin_residents", "change order", residents.change_order),
        ("admin_residents", "discontinue order", residents.discontinue_order),
    ]
    for key, name, opener in openers:
        window.nav[key].click()
        idle(qtbot, window)
        screen = window._section_widgets[key]
        table = screen.table  # type: ignore[attr-defined]
        table.selectRow(min(2, table.rowCount() - 1))
        idle(qtbot, window)
        if key == "admin_residents":
            residents.order_table.selectRow(0)
        opener()
        wait(qtbot, open_dialogs)
        dialog = open_dialogs()[-1]
        yield name, dialog
        dialog.reject()
        wait(qtbot, lambda: not open_dialogs())


def open_dialogs() -> list[QDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_admin_dialogs_fit(qtbot, window: MainWindow, facility: Facility1,
                           size: tuple[int, int]):
    """Each dialog fits inside the window (a tablet runs the app full-screen), its buttons
    whole, its text uncut, its form never scrolling sideways (the order form's Sunday)."""
    window.resize(*size)
    sign_in(qtbot, window, facility, "admin")
    found: list[str] = []
    for name, dialog in admin_dialogs(qtbot, window):
        for _ in range(5):
            QApplication.processEvents()
        if dialog.width() > size[0] or dialog.height() > size[1]:
            found.append(f"{name}: {dialog.width()}×{dialog.height()} px does not fit {size}")
        with contextlib.suppress(qtbot.TimeoutError):
            qtbot.waitUntil(lambda d=dialog: not problems(d, d, text=True), timeout=2000)
        found += [f"{name}: {p}" for p in problems(dialog, dialog, text=True)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_admin_screens_fit(qtbot, window: MainWindow, facility: Facility1,
                           size: tuple[int, int]):
    window.resize(*size)
    sign_in(qtbot, window, facility, "admin")
    found: list[str] = []
    for key, screen in admin_screens(qtbot, window):
        found += check(qtbot, window, screen, key, size, text=True)
    assert not found, "\n".join(found)


def test_admin_screens_have_44_px_touch_targets_and_kinetic_lists(
    qtbot, window: MainWindow, facility: Facility1
):
    """Every button, list row, combo box (and its rows), check box and field of each admin
    screen is at least 44 px high at 1280×800, and each of its lists scrolls with a finger."""
    from PySide6.QtWidgets import QAbstractScrollArea, QHeaderView, QPlainTextEdit

    from tests.ui.layout_checks import small_targets
    from ui.touch import is_kinetic

    window.resize(1280, 800)
    sign_in(qtbot, window, facility, "admin")
    found: list[str] = []
    for key, screen in admin_screens(qtbot, window):
        idle(qtbot, window)
        found += [f"{key}: {p}" for p in small_targets(screen)]
        found += [f"{key}: {type(v).__name__} {v.objectName()!r} does not scroll by touch"
                  for v in screen.findChildren(QAbstractScrollArea)
                  if v.isVisible() and not isinstance(v, QHeaderView | QPlainTextEdit)
                  and not is_kinetic(v)]
    assert not found, "\n".join(found)
