"""The window's first size fits the screen: 1280×800 where there is room, the whole free area
of a portrait tablet or a small screen (the window never opens half off the screen)."""

from __future__ import annotations

from PySide6.QtCore import QRect

from ui.startup import first_geometry


def test_a_landscape_screen_gets_1280_by_800_at_its_top_left() -> None:
    assert first_geometry(QRect(0, 0, 1920, 1040)) == QRect(0, 0, 1280, 800)
    assert first_geometry(QRect(0, 32, 1280, 800)) == QRect(0, 32, 1280, 800)


def test_a_portrait_tablet_or_small_screen_is_filled() -> None:
    assert first_geometry(QRect(0, 0, 800, 1280)) == QRect(0, 0, 800, 1280)
    assert first_geometry(QRect(0, 24, 1024, 744)) == QRect(0, 24, 1024, 744)
