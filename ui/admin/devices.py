"""Devices and enrolment (facility admins): this tablet's identity and sync state, and where
enrolment codes and the device list are managed.

Enrolment codes, the device list and revocation live on the facility's server (``mar-server
enroll-code`` / ``devices`` / ``revoke-device``); the tablet has no admin API for them yet, so
this screen shows what is true here — this device's id, facility and key fingerprint, and the
sync status — and says how to do the rest on the server. It shows no made-up data.
GUI thread; the identity is read on the worker.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from mar_desktop.permissions import Principal
from mar_desktop.services.admin_reads import DeviceInfo
from ui.admin.base import AdminScreen
from ui.backend import AdminServices
from ui.context import UiContext
from ui.widgets.common import card, label
from ui.widgets.sync_status import describe_sync

SERVER_STEPS = (
    ("Make an enrolment code for a new tablet",
     "mar-server enroll-code --facility <facility id> --hours 24"),
    ("List the enrolled tablets", "mar-server devices --facility <facility id>"),
    ("Revoke a lost or retired tablet (it can no longer sync; its past entries stay valid)",
     "mar-server revoke-device <device id>"),
)


def load_device(principal: Principal, services: AdminServices) -> DeviceInfo:
    """This device's identity. Worker thread; needs ``manage_devices`` (refusal audited)."""
    return services.reads.device(principal)


def _value(text: str, name: str) -> QLabel:
    widget = label(text, "", wrap=True)
    widget.setObjectName(name)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    widget.setStyleSheet("font-family: 'DejaVu Sans Mono'; font-size: 18px;")
    return widget


class DevicesScreen(AdminScreen):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Devices and enrolment", "", parent)
        row = QHBoxLayout()
        row.setSpacing(16)
        this, box = card()
        box.addWidget(label("This tablet", "section"))
        self.fields: dict[str, QLabel] = {}
        for key, caption in (("device_id", "Device id"), ("facility", "Facility"),
                             ("fingerprint", "Signing key fingerprint (SHA-256)"),
                             ("sync", "Sync")):
            box.addWidget(label(caption, "muted"))
            self.fields[key] = _value("…", f"device_{key}")
            box.addWidget(self.fields[key])
        box.addStretch(1)
        row.addWidget(this, 1)
        server, side = card()
        side.addWidget(label("ℹ Managed on the facility server", "section"))
        side.addWidget(label(
            "Enrolment codes, the list of tablets and revoking a tablet are done by your IT "
            "contact on the server that runs mar-server, with these commands:", "", wrap=True))
        for caption, command in SERVER_STEPS:
            side.addWidget(label(caption, "muted", wrap=True))
            side.addWidget(_value(command, ""))
        side.addWidget(label(
            "A new tablet is enrolled on its first-run screen with the server address and the "
            "one-time code.", "muted", wrap=True))
        side.addStretch(1)
        row.addWidget(server, 1)
        self.outer.addLayout(row, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(2000)
        self._timer.timeout.connect(self._sync_text)

    def refresh(self) -> None:
        self._sync_text()
        self._timer.start()
        self.run(load_device, self._loaded)

    def _sync_text(self) -> None:
        source = self.ctx.backend.sync_status
        self.fields["sync"].setText(describe_sync(source.status() if source else None,
                                                  self.ctx.clock.now()))

    def hideEvent(self, event: QHideEvent) -> None:
        """The sync line is only kept current while the screen is shown (another section or a
        closed window stops the timer; ``refresh`` starts it again)."""
        self._timer.stop()
        super().hideEvent(event)

    def _loaded(self, info: DeviceInfo) -> None:
        self.fields["device_id"].setText(info.device_id)
        self.fields["facility"].setText(f"{info.facility_name}\n{info.facility_id}")
        self.fields["fingerprint"].setText(info.key_fingerprint)
