"""The "Verify orders" sidebar section: registered at start-up, shown only to those with
VERIFY_ORDERS (nurse, director of nursing, pharmacist). The screen's module (and the services
it names) is imported when the work area is built, after the store opened, not before the
login window. GUI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mar_desktop.permissions import Permission

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from ui.context import UiContext
    from ui.main_window import MainWindow

SECTION_KEY = "verify_orders"
SECTION_TITLE = "✔  To verify"  # the badge follows: "✔  To verify (3)"


def make_screen(ctx: UiContext) -> QWidget:
    from ui.screens.verification import VerificationScreen

    return VerificationScreen(ctx)


def register(window: MainWindow) -> None:
    """Adds the section to ``window``, before its ``attach``."""
    window.add_section(SECTION_KEY, SECTION_TITLE, make_screen, Permission.VERIFY_ORDERS)
