"""The "Verify orders" screen (docs/architecture.md#order-verification): what awaits a second
licensed person on the signed-in person's units, and for the order tapped, the SOURCE BESIDE THE
TRANSCRIPTION field by field (the pharmacy's values for an import, the entering person's for
hand entry, and for a change the previous verified version too), every difference marked in
colour and in words. Verify signs the order as checked; Return sends it back with a reason.

Shown (sidebar entry) only to those with VERIFY_ORDERS (nurse, director of nursing,
pharmacist); the service checks again, and refuses the author (``verifier_self``): the Verify
button is disabled with the reason in words. Every read and decision runs on the worker
(``Backend.verification``); opening an item is audited there as a view of the resident's record.
The queue re-reads when shown, after a decision, and when a change recorded here or pulled from
another tablet touches a resident (:meth:`apply_changes`); the sidebar badge counts what awaits.
GUI thread only. Shows PHI: :meth:`clear_phi` empties it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.changes import Changes
from mar_desktop.errors import MarError
from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.verification import VerificationItem
from ui.admin.base import cell_text, fit_columns, table
from ui.context import UiContext
from ui.errors import describe
from ui.screens.reads import ScreenRead
from ui.screens.verification_words import (
    QUEUE_COLUMNS,
    column_legend,
    comparison,
    comparison_columns,
    queue_row,
    signed_words,
)
from ui.widgets.common import Banner, button, card, label, mark_invalid

DIFF_BACKGROUND = QColor("#fde2e4")
DIFF_TEXT = QColor("#7a0016")
CHANGED_BACKGROUND = QColor("#fff4d6")
COMPARE_ROW = 36
RETURN_REASON_NEEDED = "✕ Required to return: say what the author must correct."


@dataclass(frozen=True)
class Queue:
    items: list[VerificationItem]
    zone: ZoneInfo
    now: datetime


class VerificationScreen(QWidget):
    badge_changed = Signal(str)
    """The sidebar badge's text: " (3)" with three items awaiting, "" with none."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.items: list[VerificationItem] = []
        """The queue on show, in the table's order."""
        self.current: VerificationItem | None = None
        """The item opened in the detail pane."""
        self.loaded = False  # True once a queue read arrived (tests, screenshots)
        self._zone = ZoneInfo("UTC")  # the facility's, from the first queue read
        self._confirmation = ""  # what the last decision signed, shown after the re-read
        self._read = ScreenRead(ctx, self._work, self._loaded, self._failed)
        self._count = ScreenRead(ctx, self._count_work, self._counted, lambda _e: None)
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 12)
        column.setSpacing(10)
        head = QHBoxLayout()
        head.addWidget(label("Verify orders", "title", wrap=True), 1)
        head.addWidget(button("⟳ Refresh", "", self.refresh, name="verifyRefresh"))
        column.addLayout(head)
        self.intro = label(
            "New, changed and imported orders wait here for a second licensed person. Tap one, "
            "compare our MAR with its source field by field, then verify it or return it.",
            "muted", wrap=True)
        column.addWidget(self.intro)
        self.banner = Banner()
        self.banner.setObjectName("verifyBanner")
        column.addWidget(self.banner)
        self.queue = table(QUEUE_COLUMNS, "verifyQueue")
        self.queue.setMinimumHeight(150)
        self._queue_fit = fit_columns(self.queue)
        self.queue.itemSelectionChanged.connect(self._selected)
        column.addWidget(self.queue, 1)
        self.placeholder = label("Tap an order to compare it with its source.", "muted",
                                 wrap=True)
        column.addWidget(self.placeholder)
        # The detail replaces the list while open, so the comparison has the screen's height.
        self.detail, self._detail_box = card()
        self.detail.setObjectName("verifyDetail")
        self._build_detail(self._detail_box)
        self.detail.hide()
        column.addWidget(self.detail, 1)

    def _build_detail(self, box: QVBoxLayout) -> None:
        top = QHBoxLayout()
        self.heading = label("", "section", wrap=True)
        self.heading.setObjectName("verifyHeading")
        top.addWidget(self.heading, 1)
        top.addWidget(button("← All orders to verify", "", self.back, name="verifyBack"))
        box.addLayout(top)
        self.facts = label("", "muted", wrap=True)
        box.addWidget(self.facts)
        self.compare = table(("Field", "Source", "Our MAR"), "verifyCompare")
        self.compare.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.compare.setMinimumHeight(180)
        self._compare_fit = fit_columns(self.compare)
        self._compare_fit.MIN_ROW = COMPARE_ROW  # read, not tapped: more fields in view
        self.compare.verticalHeader().setMinimumSectionSize(COMPARE_ROW)
        box.addWidget(self.compare, 1)
        self.why_not = label("", "", wrap=True)
        self.why_not.setObjectName("verifyWhyNot")
        self.why_not.setStyleSheet("color: #7a0016; font-weight: bold;")
        self.why_not.hide()
        box.addWidget(self.why_not)
        self.reason = QLineEdit()
        self.reason.setObjectName("returnReason")
        self.reason.setPlaceholderText("Reason for returning it (needed only to return)")
        self.reason.setMinimumHeight(48)
        box.addWidget(self.reason)
        self.reason_error = label("", "", wrap=True)
        self.reason_error.setObjectName("error_return_reason")
        self.reason_error.setStyleSheet("color: #7a0016; font-weight: bold;")
        self.reason_error.hide()
        box.addWidget(self.reason_error)
        actions = QHBoxLayout()
        self.verify_button = button("✓ Verify order", "primary", self.verify, name="verifyOrder")
        self.return_button = button("↩ Return to author", "danger", self.return_order,
                                    name="returnOrder")
        actions.addWidget(self.verify_button)
        actions.addWidget(self.return_button)
        actions.addStretch(1)
        box.addLayout(actions)

    # ---- reading ------------------------------------------------------------------------------
    @property
    def read_asked_at(self) -> float:
        """``time.monotonic()`` of the last queue read asked for."""
        return self._read.read_asked_at

    def refresh(self) -> None:
        """Re-reads the queue on the worker; the detail pane closes."""
        self._read.refresh()

    def refresh_badge(self) -> None:
        """Re-reads only how many items await (the sidebar badge), for a verifier."""
        if self._ctx.may(Permission.VERIFY_ORDERS):
            self._count.refresh()

    def apply_changes(self, changes: Changes, stored_by: float, shown: bool) -> None:
        """A change recorded here or pulled by sync: the queue re-reads if on show (unless its
        read was asked for after the change was stored), else the badge does."""
        if not changes.any_resident:
            return
        if shown:
            if self.read_asked_at < stored_by:
                self.refresh()
        else:
            self.refresh_badge()

    def _work(self) -> Callable[[Principal], Queue]:
        backend, now = self._ctx.backend, self._ctx.clock.now()

        def work(principal: Principal) -> Queue:
            items = backend.verification.pending(principal)
            return Queue(items, backend.mar.facility().zone, now)

        return work

    def _count_work(self) -> Callable[[Principal], int]:
        verification = self._ctx.backend.verification
        return lambda principal: len(verification.pending(principal))

    def _loaded(self, queue: Queue) -> None:
        self.loaded = True
        self._zone = queue.zone
        self.items = list(queue.items)
        self._close_detail()
        self.queue.blockSignals(True)
        self.queue.setRowCount(0)
        for row, item in enumerate(self.items):
            self.queue.insertRow(row)
            for col, text in enumerate(queue_row(item, queue.now, queue.zone)):
                self.queue.setItem(row, col, QTableWidgetItem(text))
        self.queue.clearSelection()
        self.queue.blockSignals(False)
        self._queue_fit.fit()
        self._counted(len(self.items))
        confirmation, self._confirmation = self._confirmation, ""
        if confirmation:
            self.banner.show_message("ok", confirmation)
        elif not self.items:
            self.banner.show_message("ok", "Nothing awaits verification on your units.")
        else:
            self.banner.clear_message()

    def _counted(self, count: int) -> None:
        self.badge_changed.emit(f" ({count})" if count else "")

    def _failed(self, error: BaseException) -> None:
        self.banner.show_message("error", describe(error).full())

    # ---- the detail pane ----------------------------------------------------------------------
    def _selected(self) -> None:
        rows = {index.row() for index in self.queue.selectedIndexes()}
        if len(rows) != 1:
            return
        row = rows.pop()
        if 0 <= row < len(self.items):
            self.open_item(self.items[row].target_entry_id)

    def open_item(self, target_entry_id: str) -> None:
        """Reads the item (audited as a view of the resident) and shows it beside its source."""
        verification = self._ctx.backend.verification
        self._ctx.run(lambda p: verification.item(p, target_entry_id), self.show_item,
                      self._failed)

    def show_item(self, item: VerificationItem) -> None:
        self.current = item
        pending = item.pending
        self.heading.setText(f"{item.resident.display_name} · room {item.resident.room} · "
                             f"{item.what}")
        everything = comparison(item, self._zone)
        rows = [r for r in everything if r.source or r.ours or r.previous]
        facts = [f"Entered by {item.author_name}."]
        if pending.reason:
            facts.append(f"Reason given: {pending.reason.rstrip('.')}.")
        if pending.source != "import":
            facts.append("Check every field against the prescriber's order you hold.")
        blank = [r.field.lower() for r in everything if r not in rows]
        if blank:
            facts.append(f"Empty on every side, so not listed: {', '.join(blank)}.")
        facts.append(column_legend(item))
        self.facts.setText("  ".join(facts))
        columns = comparison_columns(item)
        self.compare.clear()
        self.compare.setColumnCount(len(columns))
        self.compare.setHorizontalHeaderLabels(list(columns))
        self.compare.setRowCount(len(rows))
        bold = QFont()
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, text in enumerate(row.cells(bool(item.previous))):
                cell = QTableWidgetItem(text)
                if row.differs:
                    cell.setBackground(QBrush(DIFF_BACKGROUND))
                    cell.setForeground(QBrush(DIFF_TEXT))
                    cell.setFont(bold)
                elif row.changed:
                    cell.setBackground(QBrush(CHANGED_BACKGROUND))
                    cell.setFont(bold)
                self.compare.setItem(r, c, cell)
        self._compare_fit.fit()
        self.why_not.setText(f"⚠ {item.why_not}" if item.why_not else "")
        self.why_not.setVisible(bool(item.why_not))
        self.verify_button.setEnabled(item.may_verify)
        self.verify_button.setToolTip(item.why_not)
        self.return_button.setEnabled(item.may_verify)
        self.reason.clear()
        self._clear_reason_error()
        self.queue.hide()
        self.intro.hide()
        self.placeholder.hide()
        self.detail.show()

    def comparison_cells(self) -> list[tuple[str, ...]]:
        """The comparison table's text, row by row (what the verifier reads)."""
        table_ = self.compare
        return [
            tuple(
                cell_text(table_, r, c) for c in range(table_.columnCount())
            )
            for r in range(table_.rowCount())
        ]

    def back(self) -> None:
        """Closes the detail: the list again, nothing signed."""
        self._close_detail()
        self.queue.clearSelection()

    def _close_detail(self) -> None:
        self.current = None
        self.detail.hide()
        self.queue.show()
        self.intro.show()
        self.placeholder.setVisible(bool(self.items))
        self.compare.setRowCount(0)
        self.reason.clear()
        self._clear_reason_error()

    def _clear_reason_error(self) -> None:
        self.reason_error.hide()
        mark_invalid(self.reason, False)

    # ---- decisions ----------------------------------------------------------------------------
    def verify(self) -> None:
        """Verifies the open item (a signed entry), then names what was signed."""
        item = self.current
        if item is None or not item.may_verify:
            return
        verification = self._ctx.backend.verification
        target = item.target_entry_id
        self._decide(item, "Verified", lambda p: verification.verify(p, target).id)

    def return_order(self) -> None:
        """Returns the open item with the reason typed; without one, says so under the field
        and writes nothing."""
        item = self.current
        if item is None or not item.may_verify:
            return
        why = self.reason.text().strip()
        if not why:
            self.reason_error.setText(RETURN_REASON_NEEDED)
            self.reason_error.show()
            mark_invalid(self.reason, True)
            self.reason.setFocus()
            return
        self._clear_reason_error()
        verification = self._ctx.backend.verification
        target = item.target_entry_id
        self._decide(item, "Returned", lambda p: verification.return_order(p, target, why).id)

    def _decide(self, item: VerificationItem, decision: str,
                work: Callable[[Principal], str]) -> None:
        """Runs ``work`` (the decision; it returns the decision entry's id), then reads
        whether the stored decision is signed by the verifier's own key, on the worker."""
        principal = self._ctx.principal()
        if principal is None:
            return
        signer = principal.user.full_name
        self.verify_button.setEnabled(False)
        self.return_button.setEnabled(False)
        verification = self._ctx.backend.verification

        def decide_and_check(p: Principal) -> bool:
            decision_id = work(p)
            try:  # the decision is stored: a failed read only leaves out the "own key" words
                return verification.decision_signature(p, decision_id).own_key
            except MarError:
                return False

        def done(own_key: bool) -> None:
            self._confirmation = signed_words(item, decision, signer, own_key)
            self.banner.show_message("ok", self._confirmation)
            self.refresh()

        def failed(error: BaseException) -> None:
            self.verify_button.setEnabled(item.may_verify)
            self.return_button.setEnabled(item.may_verify)
            self._failed(error)

        self._ctx.run(decide_and_check, done, failed)

    # ---- privacy ------------------------------------------------------------------------------
    def clear_phi(self) -> None:
        """Drops every resident's name and order at once (lock, sign-out)."""
        self.items = []
        self.loaded = False
        self.queue.setRowCount(0)
        self._close_detail()
        self.banner.clear_message()
        self.badge_changed.emit("")
