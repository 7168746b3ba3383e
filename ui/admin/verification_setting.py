"""The settings screen's "Order verification" card: whether hand-entered orders need a second
licensed person's verification before they are given (on by default; imported orders always
do). Changing it asks for a reason and is recorded with the old and new value
(``VerificationService.set_hand_entry_verification``, which checks MANAGE_CLINICAL_SETTINGS or
MANAGE_SETTINGS). Reads and writes run on the worker through ``Backend.verification``. GUI
thread only; holds no PHI.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from mar_desktop.envelope import Entry
from mar_desktop.permissions import Principal
from ui.admin.base import AdminScreen, ReasonDialog
from ui.backend import AdminServices
from ui.widgets.common import button, label

ON_WORDS = ("✓ On: a hand-entered order is given only after a second licensed person (nurse, "
            "director of nursing or pharmacist) verified it.")
OFF_WORDS = ("⚠ Off: hand-entered orders are givable as soon as they are saved. Imported "
             "orders still need verification.")


class VerificationSettingCard(QFrame):
    """Shows the setting and a button that turns it the other way (with a reason)."""

    def __init__(self, screen: AdminScreen, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self._screen = screen
        self.required: bool | None = None  # None until read
        box = QVBoxLayout(self)
        box.setContentsMargins(18, 16, 18, 16)
        box.setSpacing(10)
        box.addWidget(label("Order verification", "section"))
        self.state = label("Reading…", "", wrap=True)
        self.state.setObjectName("verificationState")
        box.addWidget(self.state)
        row = QHBoxLayout()
        self.toggle = button("", "", self.change, name="verificationToggle")
        self.toggle.setEnabled(False)
        row.addWidget(self.toggle)
        row.addStretch(1)
        box.addLayout(row)

    def refresh(self) -> None:
        verification = self._screen.ctx.backend.verification
        self._screen.ctx.run(verification.hand_entry_verification, self.show_setting,
                             self._screen.show_error)

    def show_setting(self, required: bool) -> None:
        self.required = required
        self.state.setText(ON_WORDS if required else OFF_WORDS)
        self.toggle.setText("Turn off for hand-entered orders…" if required
                            else "Turn on for hand-entered orders…")
        self.toggle.setProperty("kind", "danger" if required else "primary")
        self.toggle.style().unpolish(self.toggle)
        self.toggle.style().polish(self.toggle)
        self.toggle.setEnabled(True)

    def change(self) -> None:
        """Asks for the reason, then records the change (audited with before and after)."""
        if self.required is None:
            return
        wanted = not self.required
        if wanted:
            title, intro = ("Require verification of hand-entered orders",
                            "New and changed hand-entered orders will wait for a second "
                            "licensed person before they are given.")
        else:
            title, intro = ("Stop requiring verification of hand-entered orders",
                            "A hand-entered order will be givable as soon as it is saved, with "
                            "no second check of its transcription. Imported orders still "
                            "need verification. Say why.")
        dialog = ReasonDialog(title, intro, "Turn on" if wanted else "Turn off", self._screen,
                              danger=not wanted)
        verification = self._screen.ctx.backend.verification

        def work(principal: Principal, _services: AdminServices, value: object) -> Entry:
            assert isinstance(value, dict)
            return verification.set_hand_entry_verification(principal, wanted, value["reason"])

        def done(_entry: Entry) -> None:
            self.show_setting(wanted)
            self._screen.banner.show_message(
                "ok", "Order verification of hand-entered orders is now "
                f"{'on' if wanted else 'off'}. Tablets pick it up when they next sync.")

        self._screen.submit_form(dialog, work, done)
