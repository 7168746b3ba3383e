"""The demo's scanner panel (``--demo`` only): the barcodes a newcomer can scan, and the demo
accounts' authenticator codes (for a witness) while someone is signed in.

It lists the current resident's wristband and the packages of their running orders (with no
resident open: the wristbands of the user's units), read through the demo-only
:class:`mar_desktop.services.demo_scans.DemoScanService` on the worker. Tapping one sends its
characters exactly as a keyboard-wedge scanner does (:func:`send_as_wedge`): key presses and
releases a few milliseconds apart into the focused widget, then Enter. Its buttons take no
focus, so the scan field keeps it. The main window builds the panel only when the backend has
the demo service; ``clear()`` drops what it lists (the lock hides PHI). Its one timer runs only
while it is shown. GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QHideEvent, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.permissions import Principal
from mar_desktop.services.demo_scans import DemoBarcode, DemoScanService
from ui.backend import DemoAccount
from ui.context import UiContext
from ui.touch import kinetic
from ui.widgets.common import clear_layout, label

KEY_GAP_MS = 3  # a wedge scanner's pace: far under ui.scanner.MAX_GAP_MS


def _key_of(char: str) -> Qt.Key:
    code = ord(char.upper())
    return Qt.Key(code) if 0x20 <= code < 0x7F else Qt.Key.Key_unknown


def send_as_wedge(text: str, window: QWidget) -> None:
    """Types ``text`` then Enter into the focused widget of ``window`` (the app's focus
    widget if it has one), key press and release per character, ``KEY_GAP_MS`` apart, as a
    keyboard-wedge scanner does. The app-wide scanner filter sees these keys as it sees a
    scanner's."""
    stamp = int(time.monotonic() * 1000)
    for char, key in [(c, _key_of(c)) for c in text] + [("\r", Qt.Key.Key_Return)]:
        target = QApplication.focusWidget() or window.focusWidget() or window
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, char)
            event.setTimestamp(stamp)
            QApplication.sendEvent(target, event)
        stamp += KEY_GAP_MS


class DemoScannerPanel(QFrame):
    """See the module docstring. ``current_resident()`` says whose barcodes to list."""

    def __init__(self, ctx: UiContext, service: DemoScanService,
                 accounts: Sequence[DemoAccount], current_resident: Callable[[], str | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoScanner")
        self.setStyleSheet("#demoScanner { background: #fff7d6; border-top: 3px solid #b58100; }")
        self._ctx = ctx
        self._service = service
        self._accounts = list(accounts)
        self._current = current_resident
        self._shown_for: str | bool | None = False  # False: nothing loaded yet
        self.barcodes: list[DemoBarcode] = []
        self.buttons: list[QPushButton] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 6, 16, 6)
        column.setSpacing(4)
        head = QHBoxLayout()  # the title wraps and the codes sit under it: a portrait tablet
        head.addWidget(label("▦ DEMO SCANNER (demo only) – tap a barcode to scan it",
                             "subtitle", wrap=True), 1)
        self.codes = label("", "muted", wrap=True)
        self.codes.setObjectName("demoWitnessCodes")
        self.toggle = QPushButton("Hide ▾")
        self.toggle.setObjectName("demoScannerToggle")
        self.toggle.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.toggle.setMinimumHeight(44)
        self.toggle.clicked.connect(self._toggle)
        head.addWidget(self.toggle)
        column.addLayout(head)
        column.addWidget(self.codes)
        # one row of barcodes that scrolls sideways: the screens above keep their height
        strip = QWidget()
        strip.setObjectName("demoStrip")
        strip.setStyleSheet("#demoStrip { background: transparent; }")
        self._grid = QHBoxLayout(strip)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(8)
        self._strip_body = strip
        self.strip = QScrollArea()
        self.strip.setWidget(strip)
        self.strip.setWidgetResizable(True)
        self.strip.setFrameShape(QFrame.Shape.NoFrame)
        self.strip.setFixedHeight(80)
        self.strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.strip.setStyleSheet("QScrollArea { background: transparent; }")
        kinetic(self.strip)
        self.strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the scan field keeps the focus
        self.strip.viewport().setFocusPolicy(Qt.FocusPolicy.NoFocus)
        column.addWidget(self.strip)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)

    # ---- what to list -------------------------------------------------------------------------
    def resident_may_have_changed(self) -> None:
        """The screen on show changed: list the barcodes of whom it shows now, at once."""
        if self.isVisible():
            self.tick()

    def tick(self) -> None:
        """Every second while shown: the codes, and the barcodes when the resident changed."""
        self.codes.setText("Codes now (for a witness): " + " · ".join(
            f"{a.username} {a.code()}" for a in self._accounts))
        resident = self._current()
        if resident != self._shown_for:
            self._shown_for = resident
            self._ctx.run(lambda p: self._read(p, resident), self._show)

    def _read(self, principal: Principal, resident: str | None) -> list[DemoBarcode]:
        return self._service.barcodes(principal, resident)

    def _show(self, barcodes: list[DemoBarcode]) -> None:
        if self._ctx.principal() is None:
            return
        clear_layout(self._grid)
        self.barcodes = barcodes
        self.buttons = []
        for index, barcode in enumerate(barcodes):
            if barcode.kind == "wristband":
                text = f"▭ {barcode.label}\nwristband {barcode.code}"
            else:
                text = f"℞ {barcode.label}\nGTIN {barcode.code[2:16]}"
            widget = QPushButton(text)
            widget.setObjectName(f"demoScan_{index}")
            widget.setToolTip(barcode.code)
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the scan field keeps the focus
            widget.setMinimumHeight(60)
            # as wide as its text: the strip scrolls sideways rather than cut a barcode's name
            widget.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            widget.clicked.connect(lambda _c=False, code=barcode.code: self.scan(code))
            self._grid.addWidget(widget)
            self.buttons.append(widget)
        self._grid.addStretch(1)
        spacing = self._grid.spacing() * max(0, len(self.buttons) - 1)
        self._strip_body.setMinimumWidth(  # the layout alone did not widen it: set it
            sum(b.sizeHint().width() for b in self.buttons) + spacing)

    def _toggle(self) -> None:
        """Folds the barcodes away (and back), leaving the title and the codes."""
        shown = not self.strip.isVisible()
        self.strip.setVisible(shown)
        self.toggle.setText("Hide ▾" if shown else "Show barcodes ▴")

    def scan(self, code: str) -> None:
        """Sends ``code`` as the scanner would (see :func:`send_as_wedge`)."""
        send_as_wedge(code, self.window())

    def button_for(self, code: str) -> QPushButton:
        """The button that scans ``code`` (tests)."""
        return self.buttons[[b.code for b in self.barcodes].index(code)]

    def clear(self) -> None:
        """Drops the listed barcodes (PHI) and hides the panel."""
        clear_layout(self._grid)
        self.barcodes = []
        self.buttons = []
        self._shown_for = False
        self.hide()

    # ---- the timer runs only while shown ---------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()
        self.tick()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
