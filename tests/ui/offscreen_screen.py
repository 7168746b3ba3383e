"""Offscreen Qt with one 1920×1920 screen instead of its default 800×800, so every window the
UI tests size (up to 1920×1080 and 1080×1920) lies on the screen: a kinetic view
(:mod:`ui.touch`) hands a tap to the widget on screen under it, which Qt finds only inside a
screen. Must run before the QApplication is made."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import tempfile

SCREEN = {"screens": [{"name": "ward", "x": 0, "y": 0, "width": 1920, "height": 1920}]}


def configure() -> None:
    """Points plain ``QT_QPA_PLATFORM=offscreen`` at the screen above; leaves a real display
    or a configuration of one's own alone."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return
    path = os.path.join(tempfile.gettempdir(), f"mar-ui-tests-screen-{os.getpid()}.json")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(SCREEN, out)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={path}"
    atexit.register(_remove, path)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
