"""The admin screens at 1280×800 and 1920×1080, landscape and portrait: nothing clipped
(the checks of ``tests/ui/test_layouts.py``)."""

from __future__ import annotations

import pytest

from tests.ui.harness import Facility1
from tests.ui.steps import sign_in, wait
from tests.ui.test_layouts import SIZES, check
from ui.admin import ADMIN_KEYS, SECTIONS
from ui.main_window import MainWindow

ADMIN = [key for key, _title, _permission in SECTIONS if key in ADMIN_KEYS]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_admin_screens_fit(qtbot, window: MainWindow, facility: Facility1,
                           size: tuple[int, int]):
    window.resize(*size)
    sign_in(qtbot, window, facility, "admin")
    found: list[str] = []
    for key in ADMIN:
        window.nav[key].click()
        screen = window._section_widgets[key]
        wait(qtbot, lambda s=screen: window.stack.currentWidget() is s)
        found += check(qtbot, window, screen, key, size)
    assert not found, "\n".join(found)
