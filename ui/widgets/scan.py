"""Keyboard-wedge scanner support.

A wedge scanner types the code's characters very fast and ends with Enter. Screens that take
scans keep a :class:`ScanField` focused (a large line edit); Enter emits ``scanned(text)`` and
clears it, so a scanner and a person typing a code by hand both work. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit, QWidget


class ScanField(QLineEdit):
    scanned = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setProperty("role", "scan")
        self.setMinimumHeight(56)
        self.setAccessibleName(placeholder)
        self.returnPressed.connect(self._emit)

    def _emit(self) -> None:
        text = self.text().strip()
        self.clear()
        if text:
            self.scanned.emit(text)
