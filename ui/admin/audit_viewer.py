"""The audit log viewer (facility admins, surveyors): who looked at or did what, newest first,
filtered by person, resident (or any record id), action and time range, a page at a time.
Sync events ("synced", one per sync) are left out unless "Show sync events" is ticked. The
columns fit the screen (text wraps, nothing is cut); the selected event's changes show field
by field under the table (:mod:`ui.admin.audit_detail`). "Export CSV…" writes every event the
filters find (not only the page) to a file in the documents folder
(``AuditQueryService.export_csv``: owner-only, itself audited).

Each page is one ``AuditQueryService.search`` on the worker (which checks ``view_audit`` and
records the search itself as ``audit_viewed``). Pages are keyed by time: the next page asks for
events up to the oldest time shown (inclusive) and skips those already shown at that instant,
so events sharing a timestamp are neither lost nor repeated. Times are shown in the facility's
time zone. Shows PHI (names, record ids): ``clear_phi()`` empties it. GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
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
from ui.admin.audit_detail import AuditDetail
from ui.admin.base import AdminScreen, fit_columns, table
from ui.admin.forms import captioned
from ui.admin.save_paths import ask_save_path
from ui.backend import AdminServices
from ui.context import UiContext
from ui.widgets.common import button, card, label

PAGE_SIZE = 50
COLUMNS = ("When", "Who", "What", "Details")
HIDDEN_BY_DEFAULT = frozenset({audit_actions.SYNCED})
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


def export_audit(services: AdminServices, principal: Principal, query: AuditFilter,
                 path: Path, zone: str) -> int:
    """Worker thread: the filtered view (every page) to ``path`` as CSV; the row count."""
    return services.audit.export_csv(principal, query, path, zone)


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
        grid.setVerticalSpacing(8)
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
        for combo in (self.user, self.resident, self.action, self.range):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        for widget in (self.user, self.resident, self.entity, self.action, self.range):
            widget.setMinimumHeight(48)
        self.show_sync = QCheckBox("Show sync events")
        self.show_sync.setObjectName("auditShowSync")
        self.show_sync.setMinimumHeight(48)
        self.export_button = button("⇩ Export CSV…", "", self.export, name="auditExport")
        self._times = (captioned("From", self.since), captioned("To", self.until))
        options = QWidget()
        options.setObjectName("auditOptions")
        options.setStyleSheet("#auditOptions { background: transparent; }")
        row = QHBoxLayout(options)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.show_sync)
        row.addStretch(1)
        row.addWidget(self.export_button)
        self._filter_parts = [
            captioned("Person", self.user), captioned("Action", self.action),
            captioned("Time range", self.range), captioned("Resident", self.resident),
            captioned("Or any record id", self.entity), *self._times, options]
        self._grid = grid
        self._grid_columns = 0
        self._place_filters(3)
        self.search_button = button("⌕ Search", "primary", self.search, name="auditSearch")
        self.head.insertWidget(2, self.search_button)
        grid_box.addLayout(grid)
        self.outer.addWidget(filters)
        self.table = table(COLUMNS, "auditTable")
        self.fitter = fit_columns(self.table)
        self.table.itemSelectionChanged.connect(self._show_detail)
        self.detail = AuditDetail()
        self._body = QBoxLayout(QBoxLayout.Direction.LeftToRight)  # detail under it: portrait
        self._body.setSpacing(12)
        self._body.addWidget(self.table, 3)
        self._body.addWidget(self.detail, 2)
        self.outer.addLayout(self._body, 1)
        pager = QHBoxLayout()
        self.newer = button("◀ Newer", "", self.newer_page, name="auditNewer")
        self.older = button("Older ▶", "", self.older_page, name="auditOlder")
        self.page_label = label("", "muted", wrap=True)  # wraps on a portrait tablet
        self.page_label.setObjectName("auditPage")
        pager.addWidget(self.newer)
        pager.addWidget(self.page_label, 1, Qt.AlignmentFlag.AlignCenter)
        pager.addWidget(self.older)
        self.outer.addLayout(pager)
        self.ask_save_path: Callable[[str], str | None] = self._ask_save_path
        self.last_export: Path | None = None
        self._range_changed()
        self._set_pager(False)

    # ---- filters ------------------------------------------------------------------------------
    def _place_filters(self, columns: int) -> None:
        """Three filters a row on a wide screen, two on a portrait tablet; the sync and export
        row last, across the whole width."""
        if columns == self._grid_columns:
            return
        self._grid_columns = columns
        for part in self._filter_parts:
            self._grid.removeWidget(part)
        *fields, options = self._filter_parts
        for index, part in enumerate(fields):
            self._grid.addWidget(part, index // columns, index % columns)
        self._grid.addWidget(options, (len(fields) + columns - 1) // columns, 0, 1, columns)
        for column in range(3):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        wide = self.width() >= 1000
        self._place_filters(3 if wide else 2)
        self._body.setDirection(QBoxLayout.Direction.LeftToRight if wide
                                else QBoxLayout.Direction.TopToBottom)
        super().resizeEvent(event)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.choices.zone)

    def _range_changed(self) -> None:
        custom = self.range.currentData() == -1
        for holder in self._times:
            holder.setVisible(custom)

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
        hidden = frozenset() if self.show_sync.isChecked() or action else HIDDEN_BY_DEFAULT
        return AuditFilter(user_id=self.user.currentData(), entity_id=entity or None,
                           actions=frozenset({action}) if action else None,
                           exclude_actions=hidden, since=since, until=until)

    def refresh(self) -> None:
        self.run(load_choices, self._choices_loaded)

    def _choices_loaded(self, choices: AuditChoices) -> None:
        first = not self.choices.users
        self.choices = choices
        for combo, items, anyone in ((self.user, choices.users, "Anyone"),
                                     (self.resident, choices.residents, "Any resident")):
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
        self.table.setRowCount(len(page.records))
        for row, record in enumerate(page.records):
            when = parse_utc(record.recorded_at).astimezone(self.zone)
            role = record.role.replace("_", " ")
            who = f"{record.user_name}\n{role}" if role else record.user_name
            target = self.target_words(record)
            what = action_words(record.action) + (f"\n{target}" if target else "")
            values = (when.strftime("%Y-%m-%d\n%H:%M:%S"), who, what, record.detail)
            for col, text in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.fitter.fit()
        first = self.paging.index * PAGE_SIZE
        if page.records:
            self.page_label.setText(f"Page {self.paging.index + 1} · events {first + 1}–"
                                    f"{first + len(page.records)} (newest first)")
        else:
            self.page_label.setText("")
            self.banner.show_message("info", "No events match these filters.")
        self.detail.clear()
        self._set_pager(page.has_more)

    def target_words(self, record: AuditRecord) -> str:
        """The event's record in words: a resident's or person's name, else its kind and a
        short id (the whole id is in the detail pane and the export)."""
        names = dict(self.choices.residents) | dict(self.choices.users)
        if not record.entity_id:
            return record.entity_type.replace("_", " ").capitalize()
        name = names.get(record.entity_id)
        if name is None:
            short = record.entity_id if len(record.entity_id) <= 12 \
                else record.entity_id[:8] + "…"
            name = f"{record.entity_type.replace('_', ' ')} {short}".strip()
        return name

    def _show_detail(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.records):
            self.detail.clear()
            return
        record = self.records[rows[0].row()]
        names = dict(self.choices.residents) | dict(self.choices.users)
        target = names.get(record.entity_id, "")
        if record.entity_id:
            kind = record.entity_type.replace("_", " ")
            target = f"{target} ({kind} {record.entity_id})" if target \
                else f"{kind} {record.entity_id}"
        self.detail.show_record(record, self.zone, target)

    # ---- export ---------------------------------------------------------------------------------
    def _ask_save_path(self, suggested: str) -> str | None:
        return ask_save_path(self, "Export the audit log", suggested, "CSV files (*.csv)")

    def export(self) -> None:
        """Asks where (the documents folder first), then writes every event the filters find."""
        stamp = self.ctx.clock.now().astimezone(self.zone).strftime("%Y%m%d-%H%M")
        chosen = self.ask_save_path(f"audit-log-{stamp}.csv")
        if not chosen:
            return
        target = Path(chosen)
        query, zone = self.filter(), self.choices.zone
        self.export_button.setEnabled(False)

        def done(count: int) -> None:
            self.export_button.setEnabled(True)
            self.last_export = target
            self.banner.show_message("ok", f"Exported {count} events to {target.name}.")

        def failed(error: BaseException) -> None:
            self.export_button.setEnabled(True)
            self.show_error(error)

        self.run(lambda p, s: export_audit(s, p, query, target, zone), done, failed)

    def shown_actions(self) -> list[str]:
        return [r.action for r in self.records]

    def clear_phi(self) -> None:
        super().clear_phi()
        self.records = []
        self.table.clearContents()
        self.table.setRowCount(0)
        self.detail.clear()
        for combo in (self.user, self.resident):
            combo.clear()
        self.choices = AuditChoices([], [], self.choices.zone)
