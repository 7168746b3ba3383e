"""The admin screens at 1280×800 and 1920×1080, landscape and portrait: nothing clipped
(the checks of ``tests/ui/test_layouts.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QWidget

from tests.ui.harness import Facility1
from tests.ui.steps import idle, sign_in, wait
from tests.ui.test_layouts import SIZES, check
from ui.admin import ADMIN_KEYS, SECTIONS
from ui.main_window import MainWindow

ADMIN = [key for key, _title, _permission in SECTIONS if key in ADMIN_KEYS]


def admin_screens(qtbot: object, window: MainWindow) -> Iterator[tuple[str, QWidget]]:
    """Each admin screen in turn, opened from the sidebar: (key, screen)."""
    for key in ADMIN:
        window.nav[key].click()
        screen = window._section_widgets[key]
        wait(qtbot, lambda s=screen: window.stack.currentWidget() is s)
        yield key, screen


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_admin_screens_fit(qtbot, window: MainWindow, facility: Facility1,
                           size: tuple[int, int]):
    window.resize(*size)
    sign_in(qtbot, window, facility, "admin")
    found: list[str] = []
    for key, screen in admin_screens(qtbot, window):
        found += check(qtbot, window, screen, key, size)
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
