"""App-wide keyboard-wedge scanner recognition.

A wedge scanner "types" its code: characters a few milliseconds apart, then Enter. Screens keep
a :class:`ui.widgets.scan.ScanField` focused for scans, but focus moves (a tapped button, a
table, a combo box) and a nurse should not have to tap the field before scanning. The
:class:`ScannerFilter` is an event filter on the QApplication (installed and removed by the
start-up, :func:`ui.startup.run_gui`) that recognises a scan wherever focus is and hands
it to ``route(text)`` (the main window routes it to the current screen's scan handler).

Contract:

- A *scan* is at least ``min_length`` printable characters, each key press at most
  ``max_gap_ms`` after the previous one, ended by Enter/Return also within ``max_gap_ms``.
  Times come from ``clock(event)``, by default the key event's own timestamp from the window
  system: a GUI-thread stall that delivers a person's keys in one burst does not make them
  look fast. Tests inject a clock.
- Human typing is never taken for a scan: a key after a longer pause starts a new candidate,
  so a person's keys (100 ms or more apart) never reach ``min_length``.
- While a text entry has focus (any line edit — password, TOTP code, search, the scan fields
  themselves —, text edit, spin box or editable combo box) the filter does nothing: typing,
  pasting and the field's own Enter behave as without it.
- Elsewhere, the first character of a burst reaches the focused widget as usual (it cannot be
  known yet to be a scan); the following fast characters are swallowed so they do not drive
  combo boxes or tables, and the Enter of a recognised scan is swallowed when ``route``
  accepts the scan (returns True). Enter after anything else passes through untouched.

GUI thread only; holds no PHI beyond the characters of the scan in progress.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

KeyClock = Callable[[QKeyEvent], float]
MAX_GAP_MS = 30.0
MIN_LENGTH = 6
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_COMMAND = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


def event_time(event: QKeyEvent) -> float:
    """The default clock: when the window system saw the key (ms)."""
    return float(event.timestamp())


def is_text_entry(widget: QWidget | None) -> bool:
    """True for a widget where keys are typed text (the filter leaves those alone)."""
    if widget is None:
        return False
    if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit | QAbstractSpinBox):
        return True
    return isinstance(widget, QComboBox) and widget.isEditable()


class ScannerFilter(QObject):
    """Recognises wedge-scanner input outside text fields and hands it to ``route``."""

    def __init__(
        self,
        route: Callable[[str], bool],
        *,
        clock: KeyClock = event_time,
        max_gap_ms: float = MAX_GAP_MS,
        min_length: int = MIN_LENGTH,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._route = route
        self._clock = clock
        self._max_gap = max_gap_ms
        self._min_length = min_length
        self._chars: list[str] = []
        self._last: float | None = None
        self.recognised = 0  # scans handed to ``route`` (for tests and diagnostics)

    def reset(self) -> None:
        self._chars.clear()
        self._last = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        if not self._is_target(watched):
            return False  # the same key seen again on its way to a parent or the window
        if is_text_entry(QApplication.focusWidget()):
            self.reset()
            return False
        return self._key(event)

    @staticmethod
    def _is_target(watched: QObject) -> bool:
        """A key press reaches the filter once per receiver; act only for the widget that
        gets it first (the focus widget, or the active window when nothing has focus)."""
        focus = QApplication.focusWidget()
        return watched is (focus if focus is not None else QApplication.activeWindow())

    def _key(self, event: QKeyEvent) -> bool:
        if event.isAutoRepeat():
            self.reset()  # a held key repeats at scanner-like speed: never a scan
            return False
        now = self._clock(event)
        fast = self._last is not None and 0 <= now - self._last <= self._max_gap
        key = event.key()
        if key in _ENTER:
            text = "".join(self._chars)
            complete = fast and len(text) >= self._min_length
            self.reset()
            if complete and self._route(text):
                self.recognised += 1
                return True
            return False
        char = event.text()
        if not char or not char.isprintable() or event.modifiers() & _COMMAND:
            self.reset()
            return False
        if not fast:
            self._chars = [char]
            self._last = now
            return False  # a first key: delivered as usual
        self._chars.append(char)
        self._last = now
        return True  # inside a burst: kept from combo boxes, tables and buttons
