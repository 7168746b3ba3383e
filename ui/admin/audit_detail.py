"""The audit viewer's detail pane: the selected event's who, where and what, and its
before/after values as a table of the fields that changed (:mod:`mar_desktop.audit_changes`),
never raw JSON. Shows PHI: ``clear()`` empties it. GUI thread.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QTableWidgetItem, QVBoxLayout, QWidget

from mar_desktop.audit_changes import field_changes
from mar_desktop.clock import parse_utc
from mar_desktop.people.audit_record import AuditRecord
from ui.admin.base import fit_columns, table
from ui.widgets.common import label


class AuditDetail(QFrame):
    """See the module docstring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")  # the theme's card look (ui.widgets.common.card)
        self.setObjectName("auditDetailCard")
        column = QVBoxLayout(self)
        column.setContentsMargins(18, 12, 18, 12)
        column.setSpacing(8)
        self.summary = label("", "", wrap=True)
        self.summary.setObjectName("auditDetail")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.summary)
        self.changes = table(("Field", "Before", "After"), "auditChanges")
        self.fitter = fit_columns(self.changes)
        self.changes.setMinimumHeight(120)
        column.addWidget(self.changes, 1)
        column.addStretch(0)
        self.clear()

    def show_record(self, record: AuditRecord, zone: ZoneInfo, target: str) -> None:
        """Shows ``record``; ``target`` is its record in words (resident or person)."""
        when = parse_utc(record.recorded_at).astimezone(zone)
        role = f" ({record.role.replace('_', ' ')})" if record.role else ""
        lines = [f"{when:%Y-%m-%d %H:%M:%S} · {record.user_name}{role}",
                 f"Record: {target}" if target else "",
                 record.detail,
                 f"Device {record.device_id[:8]}… entry #{record.seq}"
                 + (f" · IP {record.ip}" if record.ip else "")]
        self.summary.setText("\n".join(line for line in lines if line))
        changes = field_changes(record.before, record.after)
        self.changes.setRowCount(len(changes))
        for row, change in enumerate(changes):
            for col, text in enumerate((change.label, change.before, change.after)):
                self.changes.setItem(row, col, QTableWidgetItem(text))
        self.changes.setVisible(bool(changes))
        self.fitter.fit()
        self.show()

    def changed_fields(self) -> list[tuple[str, str, str]]:
        """The changes shown: (field, before, after) rows."""
        return [tuple(self.changes.item(r, c).text() for c in range(3))  # type: ignore[misc, union-attr]
                for r in range(self.changes.rowCount())]

    def clear(self) -> None:
        self.summary.setText("")
        self.changes.clearContents()
        self.changes.setRowCount(0)
        self.hide()
