"""Small building blocks used by every screen. GUI thread only."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.model import DoseStatus
from ui import theme

BANNER_GLYPH = {
    "error": theme.GLYPH_ERROR,
    "warning": theme.GLYPH_WARNING,
    "ok": theme.GLYPH_OK,
    "info": theme.GLYPH_INFO,
    "emergency": theme.GLYPH_WARNING,
}

BANNER_MARGINS = {  # border + padding of QLabel[banner=...] in resources/style.qss
    "error": (16, 12, 16, 12),
    "warning": (16, 12, 16, 12),
    "ok": (16, 12, 16, 12),
    "info": (16, 12, 16, 12),
    "emergency": (14, 8, 14, 8),
}


def label(text: str = "", role: str = "", *, wrap: bool = False) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    return widget


def button(
    text: str,
    kind: str = "",
    on_click: Callable[[], None] | None = None,
    *,
    name: str = "",
    checkable: bool = False,
) -> QPushButton:
    """A touch-sized (at least 48 px) button; ``kind`` picks the style (primary, given...)."""
    widget = QPushButton(text)
    if kind:
        widget.setProperty("kind", kind)
    if name:
        widget.setObjectName(name)
    widget.setMinimumHeight(52)
    widget.setCheckable(checkable)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    if on_click is not None:
        widget.clicked.connect(lambda _checked=False: on_click())
    return widget


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    """Marks an input as holding a problem (red border, ``invalid`` in the stylesheet)."""
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class Banner(QLabel):
    """A message line with a glyph and words: error, warning, ok, info or emergency.
    Hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        policy = self.sizePolicy()  # never squeezed below its text by a stretching neighbour
        policy.setVerticalPolicy(QSizePolicy.Policy.Minimum)
        self.setSizePolicy(policy)
        self.message: tuple[str, str] | None = None
        """The (kind, text) on show, None while empty: to show it again later."""
        self.hide()

    def show_message(self, kind: str, text: str) -> None:
        theme.set_prop(self, "banner", kind)
        # The stylesheet's border + padding as contents margins: Qt applies a stylesheet's
        # padding to a label only at its first polish, so a banner re-styled while on screen
        # had its text jammed against (and its height short of) its border.
        self.setContentsMargins(*BANNER_MARGINS.get(kind, (0, 0, 0, 0)))
        self.setText(f"{BANNER_GLYPH.get(kind, '')}  {text}")
        self.message = (kind, text)
        self.show()

    def clear_message(self) -> None:
        self.clear()
        self.message = None
        self.hide()


def chip(style: str, glyph: str, words: str) -> QLabel:
    widget = QLabel(f"{glyph} {words}")
    widget.setProperty("chip", style)
    widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    widget.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return widget


def status_chip(status: DoseStatus) -> QLabel:
    style, glyph, words = theme.DOSE_STATUS[status]
    return chip(style, glyph, words)


def card(parent: QWidget | None = None) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame(parent)
    frame.setProperty("role", "card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(18, 16, 18, 16)
    layout.setSpacing(10)
    return frame, layout


def clear_layout(layout: QLayout) -> None:
    """Removes and deletes every widget in ``layout`` (used to drop PHI at once)."""
    while layout.count():
        item = layout.takeAt(0)
        if item is None:  # count() said there was one; nothing left to remove after all
            break
        widget = item.widget()
        child = item.layout()
        if widget is not None:
            widget.hide()
            widget.deleteLater()
        elif child is not None:
            clear_layout(child)


BUTTON_PADDING = 2 * (18 + 2)  # the theme's button padding and border, left and right


def set_wrapped_text(widget: QPushButton, text: str, least_height: int) -> None:
    """Shows ``text`` on ``widget`` in as many lines as its width needs (a button does not
    wrap by itself and would cut the words off at both ends), breaking between words, and
    makes it tall enough for them (at least ``least_height``). Call again when the button's
    width changes. GUI thread."""
    metrics = widget.fontMetrics()
    room = max(1, widget.width() - BUTTON_PADDING)
    lines: list[str] = []
    for word in text.split(" "):
        if lines and metrics.horizontalAdvance(f"{lines[-1]} {word}") <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    widget.setText("\n".join(lines))
    widget.setMinimumHeight(max(least_height, len(lines) * metrics.lineSpacing() + 28))
