"""First run: this data folder has no database yet. Enrol the tablet with the facility server
(address, one-time code from the administrator, optional SPKI pin, optional private CA file)
or start the demo.

The screen only collects and shows: it emits ``enrol_requested(EnrolForm)`` or
``demo_requested()``; the composition root runs the enrolment and the first sync on the task
runner's worker and calls :meth:`working`, :meth:`failed` or :meth:`progress` back on the GUI
thread. The one-time code is cleared after every attempt and never logged. GUI thread only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from mar_desktop.errors import MarError, StorageError, SyncError, TransportRefused
from ui.errors import describe
from ui.widgets.common import Banner, button, card, label


@dataclass(frozen=True)
class EnrolForm:
    url: str
    code: str = field(repr=False)
    pin: str | None = None
    ca_file: Path | None = None


def enrolment_message(error: BaseException) -> str:
    """Plain words for a failed enrolment: refused TLS, wrong code, unreachable server."""
    if isinstance(error, TransportRefused):
        return f"Secure connection refused – nothing was sent. {error}"
    if isinstance(error, SyncError):
        return f"This tablet was not enrolled. {error}"
    if isinstance(error, StorageError | MarError):
        return str(error)
    return describe(error).full()


class FirstRunScreen(QFrame):
    enrol_requested = Signal(object)  # EnrolForm
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("authpage")
        outer = QHBoxLayout(self)
        outer.setContentsMargins(40, 30, 40, 30)
        outer.addStretch(1)
        form_card, form = card()
        form_card.setMinimumWidth(620)
        form_card.setMaximumWidth(700)
        form.addWidget(label("Set up this tablet", "title"))
        form.addWidget(label(
            "Enrol it with your facility's server. Your administrator gives you the server "
            "address and a one-time code (mar-server enroll-code).", "muted", wrap=True))
        self.url = self._field("Server address (https://…)", form, "serverUrl")
        self.code = self._field("One-time enrolment code", form, "enrolCode")
        self.pin = self._field("Server key pin (SPKI SHA-256, optional)", form, "serverPin")
        form.addWidget(label("Private CA certificate (PEM file, optional)"))
        ca_row = QHBoxLayout()
        self.ca_file = QLineEdit()
        self.ca_file.setObjectName("caFile")
        self.ca_file.setAccessibleName("Private CA certificate file")
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(button("Choose…", "", self._choose_ca))
        form.addLayout(ca_row)
        self.banner = Banner()
        form.addWidget(self.banner)
        self.enrol_button = button("Enrol this tablet", "primary", self.submit, name="enrol")
        form.addWidget(self.enrol_button)
        self.demo_button = button("Start the demo instead (throwaway data)", "",
                                  self.demo_requested.emit, name="startDemo")
        form.addWidget(self.demo_button)
        form.addStretch(1)
        for widget in (self.url, self.code, self.pin):
            widget.returnPressed.connect(self.submit)
        outer.addWidget(form_card, 0, Qt.AlignmentFlag.AlignVCenter)
        outer.addStretch(1)

    @staticmethod
    def _field(caption: str, form: QVBoxLayout, name: str) -> QLineEdit:
        form.addWidget(label(caption))
        widget = QLineEdit()
        widget.setObjectName(name)
        widget.setAccessibleName(caption)
        form.addWidget(widget)
        return widget

    def _choose_ca(self) -> None:
        dialog = QFileDialog(self, "Private CA certificate", "", "PEM certificates (*.pem *.crt)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.ca_file.setText)
        dialog.open()

    def submit(self) -> None:
        url, code = self.url.text().strip(), self.code.text().strip()
        if not url or not code:
            self.banner.show_message("error", "Enter the server address and the one-time code.")
            return
        ca = self.ca_file.text().strip()
        form = EnrolForm(url, code, self.pin.text().strip() or None, Path(ca) if ca else None)
        self.code.clear()
        self.working("Enrolling this tablet with the server…")
        self.enrol_requested.emit(form)

    def working(self, text: str) -> None:
        self._set_busy(True)
        self.banner.show_message("info", text)

    def progress(self, _fraction: float, text: str) -> None:
        self.banner.show_message("info", text)

    def failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.banner.show_message("error", enrolment_message(error))
        self.code.setFocus()

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.enrol_button, self.demo_button, self.url, self.code, self.pin,
                       self.ca_file):
            widget.setEnabled(not busy)
