"""Reconciliation alerts (double dose across devices, dose on a discontinued order, PRN limits
across devices, clock skew, fork): open ones first, acknowledged by a nurse with a comment.

GUI thread; reading runs on the worker through ``MarService.alerts`` (permission and unit scope
checked there), acknowledging through ``RecordingService.acknowledge_alert``.
Alert details may name residents: ``clear_phi()`` empties the list.
"""

from __future__ import annotations

import functools
import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from mar_desktop.permissions import Permission, Principal
from mar_desktop.views import AlertView
from ui.context import UiContext
from ui.errors import describe
from ui.touch import kinetic
from ui.widgets.common import Banner, button, card, chip, clear_layout, label

TITLES = {
    "double_dose": "Same dose recorded on two devices",
    "discontinued_order_dose": "Dose given on a discontinued order",
    "changed_order_dose": "Dose given by an order's old version after a change",
    "held_order_dose": "Dose given while the order was on hold",
    "urgent_unverified_dose": "Urgent dose on an order awaiting verification",
    "returned_order_dose": "Dose given on an order returned at verification",
    "unverified_order_dose": "Dose given on an order awaiting verification",
    "credential_refused": "An account change did not verify and was refused",
    "prn_interval": "PRN doses too close together (across devices)",
    "prn_daily_max": "PRN 24-hour maximum exceeded (across devices)",
    "clock_skew": "A device clock is wrong",
    "fork": "A tablet was cloned or restored",
}


class AlertsScreen(QWidget):
    count_changed = Signal(int)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.read_asked_at = 0.0
        """``time.monotonic()`` of the last read asked for (see ``WorkArea.apply_changes``)."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        head = QHBoxLayout()
        head.addWidget(label("Alerts", "title"))
        head.addStretch(1)
        head.addWidget(button("⟳ Refresh", "", self.refresh))
        layout.addLayout(head)
        layout.addWidget(
            label("Found when records from several tablets were merged. Check each one and "
                  "acknowledge it with what you found or did.", "muted", wrap=True)
        )
        self.banner = Banner()
        layout.addWidget(self.banner)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget()
        self.rows = QVBoxLayout(holder)
        scroll.setWidget(holder)
        kinetic(scroll)
        layout.addWidget(scroll, 1)

    def refresh(self) -> None:
        self.read_asked_at = time.monotonic()
        backend = self._ctx.backend

        def work(principal: Principal) -> list[AlertView]:
            alerts = backend.mar.alerts(principal, open_only=False)
            return sorted(alerts, key=lambda a: (a.acknowledged_by is not None, a.raised_at))

        self._ctx.run(work, self._loaded, lambda e: self.banner.show_message(
            "error", describe(e).full()))

    def _loaded(self, alerts: list[AlertView]) -> None:
        if self._ctx.principal() is None:
            return
        clear_layout(self.rows)
        open_count = sum(1 for a in alerts if a.acknowledged_by is None)
        self.count_changed.emit(open_count)
        if not alerts:
            self.banner.show_message("ok", "No alerts. Records from all tablets agree.")
        else:
            self.banner.clear_message()
        may_ack = self._ctx.may(Permission.ACKNOWLEDGE_ALERT)
        for alert in alerts:
            frame, box = card()
            row = QHBoxLayout()
            if alert.acknowledged_by is None:
                row.addWidget(chip("late", "⚠", "Open"))
            else:
                row.addWidget(chip("given", "✓", "Acknowledged"))
            title = TITLES.get(alert.alert_type, alert.alert_type)
            row.addWidget(label(f"<b>{title}</b>", wrap=True), 1)  # wraps on a portrait tablet
            if alert.acknowledged_by is None and may_ack:
                row.addWidget(button("Acknowledge…", "primary",
                                     functools.partial(self._acknowledge, alert)))
            box.addLayout(row)
            box.addWidget(label(f"Raised {alert.raised_at:%d %b %H:%M} UTC. {alert.detail}",
                                wrap=True))
            if alert.acknowledged_by is not None:
                box.addWidget(label(f"Comment: {alert.ack_comment}", "muted", wrap=True))
            self.rows.addWidget(frame)
        self.rows.addStretch(1)

    def _acknowledge(self, alert: AlertView) -> None:
        from ui.screens.dialogs import AcknowledgeDialog

        dialog = AcknowledgeDialog(TITLES.get(alert.alert_type, alert.alert_type), self)
        recording = self._ctx.backend.recording

        def submitted(values: dict[str, object]) -> None:
            def ok(_entry: object) -> None:
                dialog.accept()
                self.refresh()

            handle = self._ctx.run(
                lambda p: recording.acknowledge_alert(p, alert.alert_id, str(values["comment"])),
                ok,
                dialog.fail,
            )
            if handle is None:
                dialog.reject()

        dialog.submitted.connect(submitted)
        dialog.open()

    def clear_phi(self) -> None:
        clear_layout(self.rows)
        self.banner.clear_message()
