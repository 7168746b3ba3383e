"""The look: one stylesheet (``resources/style.qss``), the base font, and the glyph + word of
every status so nothing is ever told by colour alone. GUI thread only."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget

from mar_desktop.model import DoseStatus

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
ICONS = RESOURCES / "icons"

# status -> (chip style, glyph, words). Glyphs are in DejaVu Sans, so they render everywhere.
DOSE_STATUS: dict[DoseStatus, tuple[str, str, str]] = {
    DoseStatus.UPCOMING: ("neutral", "○", "Upcoming"),
    DoseStatus.DUE: ("due", "●", "Due now"),
    DoseStatus.LATE: ("late", "⚠", "LATE"),
    DoseStatus.MISSED: ("missed", "✕", "MISSED"),
    DoseStatus.GIVEN: ("given", "✓", "Given"),
    DoseStatus.REFUSED: ("held", "✕", "Refused"),
    DoseStatus.HELD: ("held", "‖", "Held"),
    DoseStatus.NOT_GIVEN: ("held", "–", "Not given"),
    DoseStatus.VOIDED: ("missed", "⌀", "Voided"),
}

# Below this width (a portrait tablet, 800 or 1080 px wide) screens switch to their narrow
# layout: the sidebar gets compact, outcome buttons take two rows, admin cards stack.
NARROW_WIDTH = 900

GLYPH_WARNING = "⚠"
GLYPH_OK = "✓"
GLYPH_ERROR = "✕"
GLYPH_INFO = "ℹ"


def stylesheet() -> str:
    """``resources/style.qss`` with ``@ICONS@`` replaced by the icons folder's path."""
    text = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    return text.replace("@ICONS@", ICONS.as_posix())


def apply(app: QApplication) -> None:
    """Sets the base font and the stylesheet on the application.

    The font is set here, on the application, and not by a ``*``/``QWidget`` stylesheet rule:
    a font in a universal rule is applied to every widget one by one, which made building a
    screen about twice as slow on the GUI thread."""
    font = QFont()
    font.setFamilies(["DejaVu Sans", "Segoe UI", "sans-serif"])
    font.setPixelSize(17)
    app.setFont(font)
    app.setStyleSheet(stylesheet())


def set_prop(widget: QWidget, name: str, value: str) -> None:
    """Sets a dynamic property the stylesheet selects on, and re-polishes the widget."""
    widget.setProperty(name, value)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
