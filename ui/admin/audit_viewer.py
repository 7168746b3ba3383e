"""The audit log viewer (facility admins, surveyors): who looked at or did what, newest first,
filtered by person, resident (or any record id), action and time range, a page at a time.

Each page is one ``AuditQueryService.search`` on the worker (which checks ``view_audit`` and
records the search itself as ``audit_viewed``). Pages are keyed by time: the next page asks for
events up to the oldest time shown (inclusive) and skips those already shown at that instant,
so events sharing a timestamp are neither lost nor repeated. Times are shown in the facility's
time zone. Shows PHI (names, record ids): ``clear_phi()`` empties it. GUI thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QTableWidgetItem,
    QWidget,
)

from mar_desktop import audit as audit_actions
from mar_desktop.clock import parse_utc
from mar_desktop.people.audit_query import AuditFilter, AuditRecord
from mar_desktop.permissions import Principal
from mar_desktop.services.admin_reads import AuditChoices
from ui.admin.base import AdminScreen, table
from ui.backend import AdminServices
from ui.context import UiContext
from ui.widgets.common import button, card, label

PAGE_SIZE = 50
COLUMNS = ("Time", "Who", "Action", "Record", "Details")
RANGES = (("Last 24 hours", 1), ("Last 7 days", 7), ("Last 30 days", 30), ("All time", 0),
          ("Between the times below", -1))
ACTIONS = sorted({
    value for name, value in vars(audit_actions).items()
    if name.isupper() and isinstance(value, str)
} | set(audit_actions.PEOPLE_ACTIONS))


def action_words(action: str) -> str:
    return action.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Page:
    records: list[AuditRecord]
    has_more: bool


@dataclass
class Paging:
    """Where each page starts: (until, ids to skip at that instant)."""

    starts: list[tuple[datetime | None, frozenset[str]]] = field(default_factory=list)
    index: int = 0


def load_choices(principal: Principal, services: AdminServices) -> AuditChoices:
    return services.reads.audit_choices(principal)


def search_page(services: AdminServices, principal: Principal, query: AuditFilter,
                skip: frozenset[str]) -> Page:
    """One page: ``PAGE_SIZE`` records after dropping ``skip``; ``has_more`` if older exist."""
    from dataclasses import replace

    found = services.audit.search(principal, replace(query, limit=PAGE_SIZE + len(skip) + 1))
    fresh = [r for r in found if r.entry_id not in skip]
    return Page(fresh[:PAGE_SIZE], len(fresh) > PAGE_SIZE)


def _summary(value: object) -> str:
    if not value:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, dict | list))
    return str(value)


class AuditScreen(AdminScreen):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Audit log",
                         "Every sign-in, record opened, change, print and export, newest first. "
                         "Viewing the log is itself recorded.", parent)
        self.choices = AuditChoices([], [], "UTC")
        self.records: list[AuditRecord] = []
        self.paging = Paging()
        self.query = AuditFilter()
        filters, grid_box = card()
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(6)
        self.user = QComboBox()
        self.user.setObjectName("auditUser")
        self.resident = QComboBox()
        self.resident.setObjectName("auditResident")
        self.entity = QLineEdit()
        self.entity.setObjectName("auditEntity")
        self.entity.setPlaceholderText("or a record id")
        self.action = QComboBox()
        self.action.setObjectName("auditAction")
        self.action.addItem("Any action", None)
        for action in ACTIONS:
            self.action.addItem(action_words(action), action)
        self.range = QComboBox()
        self.range.setObjectName("auditRange")
        for text, days in RANGES:
            self.range.addItem(text, days)
        self.range.currentIndexChanged.connect(self._range_changed)
        self.since = QDateTimeEdit()
        self.since.setObjectName("auditSince")
        self.until = QDateTimeEdit()
        self.until.setObjectName("auditUntil")
        for edit in (self.since, self.until):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setCalendarPopup(True)
            edit.setMinimumHeight(48)
        for widget in (self.user, self.resident, self.entity, self.action, self.range):
            widget.setMinimumHeight(48)
        grid.addWidget(label("Person"), 0, 0)
        grid.addWidget(self.user, 1, 0)
        grid.addWidget(label("Resident or record"), 0, 1)
        record_row = QHBoxLayout()
        record_row.addWidget(self.resident, 3)
        record_row.addWidget(self.entity, 2)
        grid.addLayout(record_row, 1, 1)
        grid.addWidget(label("Action"), 0, 2)
        grid.addWidget(self.action, 1, 2)
        grid.addWidget(label("Time range"), 2, 0)
        grid.addWidget(self.range, 3, 0)
        grid.addWidget(label("From"), 2, 1)
        grid.addWidget(self.since, 3, 1)
        grid.addWidget(label("To"), 2, 2)
        grid.addWidget(self.until, 3, 2)
        self.search_button = button("⌕ Search", "primary", self.search, name="auditSearch")
        self.head.insertWidget(2, self.search_button)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 2)
        grid_box.addLayout(grid)
        self.outer.addWidget(filters)
        self.table = table(COLUMNS, "auditTable")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(header.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((215, 240, 170, 180)):
            self.table.setColumnWidth(col, width)
        self.table.itemSelectionChanged.connect(self._show_detail)
        self.outer.addWidget(self.table, 1)
        self.detail = label("", "muted", wrap=True)
        self.detail.setObjectName("auditDetail")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outer.addWidget(self.detail)
        pager = QHBoxLayout()
        self.newer = button("◀ Newer", "", self.newer_page, name="auditNewer")
        self.older = button("Older ▶", "", self.older_page, name="auditOlder")
        self.page_label = label("", "muted", wrap=True)  # wraps on a portrait tablet
        self.page_label.setObjectName("auditPage")
        pager.addWidget(self.newer)
        pager.addWidget(self.page_label, 1, Qt.AlignmentFlag.AlignCenter)
        pager.addWidget(self.older)
        self.outer.addLayout(pager)
        self._range_changed()
        self._set_pager(False)

    # ---- filters ------------------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.choices.zone)

    def _range_changed(self) -> None:
        custom = self.range.currentData() == -1
        self.since.setEnabled(custom)
        self.until.setEnabled(custom)

    def _set_times(self) -> None:
        now = self.ctx.clock.now().astimezone(self.zone)
        for edit, moment in ((self.since, now - timedelta(days=1)),
                             (self.until, now + timedelta(minutes=1))):
            edit.setDateTime(QDateTime(moment.year, moment.month, moment.day, moment.hour,
                                       moment.minute, 0))

    def _moment(self, edit: QDateTimeEdit) -> datetime:
        value = edit.dateTime()
        day, clock = value.date(), value.time()
        return datetime(day.year(), day.month(), day.day(), clock.hour(), clock.minute(),
                        tzinfo=self.zone)

    def filter(self) -> AuditFilter:
        """The filter the controls describe (GUI thread; no I/O)."""
        days = self.range.currentData()
        since = until = None
        if days == -1:
            since, until = self._moment(self.since), self._moment(self.until)
        elif days:
            since = self.ctx.clock.now() - timedelta(days=days)
        entity = self.entity.text().strip() or self.resident.currentData()
        action = self.action.currentData()
        return AuditFilter(user_id=self.user.currentData(), entity_id=entity or None,
                           actions=frozenset({action}) if action else None,
                           since=since, until=until)

    def refresh(self) -> None:
        self.run(load_choices, self._choices_loaded)

    def _choices_loaded(self, choices: AuditChoices) -> None:
        first = not self.choices.users
        self.choices = choices
        for combo, items, anyone in ((self.user, choices.users, "Anyone"),
                                     (self.resident, choices.residents, "Any record")):
            keep = combo.currentData()
            combo.clear()
            combo.addItem(anyone, None)
            for key, text in items:
                combo.addItem(text, key)
            combo.setCurrentIndex(max(0, combo.findData(keep)))
        if first:
            self._set_times()
        self.search()

    # ---- paging -------------------------------------------------------------------------------
    def search(self) -> None:
        self.query = self.filter()
        self.paging = Paging([(self.query.until, frozenset())], 0)
        self._load()

    def older_page(self) -> None:
        if not self.records:
            return
        oldest = self.records[-1].recorded_at
        moment = parse_utc(oldest)
        shown_then = {r.entry_id for r in self.records if r.recorded_at == oldest}
        _until, skipped = self.paging.starts[self.paging.index]
        if _until is not None and _until == moment + timedelta(microseconds=1):
            shown_then |= skipped  # the whole previous page shared that instant too
        del self.paging.starts[self.paging.index + 1:]
        self.paging.starts.append((moment + timedelta(microseconds=1), frozenset(shown_then)))
        self.paging.index += 1
        self._load()

    def newer_page(self) -> None:
        if self.paging.index > 0:
            self.paging.index -= 1
            self._load()

    def _load(self) -> None:
        from dataclasses import replace

        until, skip = self.paging.starts[self.paging.index]
        query = replace(self.query, until=until)
        self.search_button.setEnabled(False)

        def done(page: Page) -> None:
            self.search_button.setEnabled(True)
            self._show(page)

        def failed(error: BaseException) -> None:
            self.search_button.setEnabled(True)
            self.show_error(error)

        self.run(lambda p, s: search_page(s, p, query, skip), done, failed)

    def _set_pager(self, has_more: bool) -> None:
        self.newer.setEnabled(self.paging.index > 0)
        self.older.setEnabled(has_more)

    def _show(self, page: Page) -> None:
        if self.ctx.principal() is None:
            return
        self.banner.clear_message()
        self.records = page.records
        names = dict(self.choices.residents) | dict(self.choices.users)
        self.table.setRowCount(len(page.records))
        for row, record in enumerate(page.records):
            when = parse_utc(record.recorded_at).astimezone(self.zone)
            who = f"{record.user_name} ({record.role.replace('_', ' ')})" if record.role \
                else record.user_name
            target = names.get(record.entity_id, record.entity_id)
            thing = f"{record.entity_type}: {target}" if record.entity_type else target
            values = (when.strftime("%Y-%m-%d %H:%M:%S"), who, action_words(record.action),
                      thing, record.detail or _summary(record.after))
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, col, item)
        first = self.paging.index * PAGE_SIZE
        if page.records:
            self.page_label.setText(f"Page {self.paging.index + 1} · events {first + 1}–"
                                    f"{first + len(page.records)} (newest first)")
        else:
            self.page_label.setText("")
            self.banner.show_message("info", "No events match these filters.")
        self.detail.setText("")
        self._set_pager(page.has_more)

    def _show_detail(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.records):
            self.detail.setText("")
            return
        record = self.records[rows[0].row()]
        parts = [f"Device {record.device_id[:8]}… #{record.seq}",
                 f"IP {record.ip}" if record.ip else ""]
        for name, value in (("Before", record.before), ("After", record.after)):
            if value:
                parts.append(f"{name}: {json.dumps(value, sort_keys=True)[:400]}")
        self.detail.setText("  ·  ".join(p for p in parts if p))

    def shown_actions(self) -> list[str]:
        return [r.action for r in self.records]

    def clear_phi(self) -> None:
        super().clear_phi()
        self.records = []
        self.table.clearContents()
        self.table.setRowCount(0)
        self.detail.setText("")
        for combo in (self.user, self.resident):
            combo.clear()
        self.choices = AuditChoices([], [], self.choices.zone)
