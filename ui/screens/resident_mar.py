"""One resident's MAR: identity banner (photo, name, room, date of birth, allergies in red with
glyph and words); due now / late / missed; PRN follow-ups due; PRN orders with the next allowed
time and when they were last given; upcoming; done today; 7 days of history
(:mod:`ui.screens.mar_history`: its rows and the Amend/Void actions under a tapped row).
After a dose is signed, the confirmation names what was signed and its rows are highlighted
until the nurse moves on. Words for orders and records: :mod:`ui.screens.mar_words`.

GUI thread; ``MarService.resident_mar`` (audited view) runs on the worker. A medication scan
here finds the matching dose and opens the administration flow with it preselected, with the
wristband scan still in force (``ctx.wristbands``, :mod:`ui.wristbands`). Every opening starts
at the top, with "Due now" and LATE in view. Shows PHI: ``clear_phi()`` empties everything at
once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.clinical.prn_reasons import prn_reason_choices
from mar_desktop.clinical.scope import scope_limit, scope_refusal
from mar_desktop.errors import RuleViolation
from mar_desktop.model import DoseStatus, Facility, Order
from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.mar import PrnStatus, ResidentMar
from mar_desktop.shift_assignment import OutsideAssignment
from mar_desktop.views import AdministrationRecord, OrderState, ScheduledDose
from ui import theme
from ui.context import UiContext
from ui.errors import describe
from ui.screens.assignment_bar import ReasonDialog, ask_outside_reason
from ui.screens.mar_history import HISTORY_COLUMNS, MarHistory, submit_dialog
from ui.screens.mar_words import (  # re-exported: the administration screens use them
    SignedDose,
    day_hhmm,
    hhmm,
    order_line,
    order_title,
    when,
)
from ui.touch import kinetic, stop_scrolling
from ui.widgets.common import Banner, button, label
from ui.widgets.identity import IdentityBanner
from ui.widgets.scan import ScanField
from ui.widgets.section_table import Row, SectionTable

__all__ = ["AdminTarget", "MarData", "ResidentMarScreen", "day_hhmm", "hhmm", "order_line",
           "order_title"]

ACTIONABLE = (DoseStatus.LATE, DoseStatus.DUE, DoseStatus.MISSED)
DONE = (
    DoseStatus.GIVEN,
    DoseStatus.REFUSED,
    DoseStatus.HELD,
    DoseStatus.NOT_GIVEN,
    DoseStatus.VOIDED,
)


@dataclass(frozen=True)
class MarData:
    mar: ResidentMar
    facility: Facility
    names: dict[str, str]


@dataclass(frozen=True)
class AdminTarget:
    """What the administration flow is opened for."""

    mar: ResidentMar
    facility: Facility
    state: OrderState
    dose: ScheduledDose | None  # None: PRN
    prn: PrnStatus | None = None
    wristband_scan: str = ""
    medication_scan: str = ""
    prn_reasons: tuple[str, ...] = ()  # a PRN's reasons to pick from, the order's own first


DOSE_COLUMNS = ("Status", "Medication", "Dose ·\nroute", "Scheduled")  # two-line header: narrow


class ResidentMarScreen(QWidget):
    administer = Signal(object)  # AdminTarget
    back = Signal()

    def __init__(
        self, ctx: UiContext, parent: QWidget | None = None, *, staged: bool = False
    ) -> None:
        """``staged=True`` leaves the section tables to :meth:`take_build_steps`."""
        super().__init__(parent)
        self._ctx = ctx
        self._data: MarData | None = None
        self.outside_dialog: ReasonDialog | None = None
        """The reason asked before a resident outside the shift assignment opens."""
        self._resident_id = ""
        self._wanted_dose: tuple[str, datetime] | None = None  # (order id, scheduled for)
        self._signed: SignedDose | None = None
        self.read_asked_at = 0.0
        """``time.monotonic()`` of the last read asked for (see ``WorkArea.apply_changes``)."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 14, 20, 10)
        layout.setSpacing(10)
        top = QHBoxLayout()
        top.addWidget(button("‹ Residents", "", self.back.emit, name="backToOverview"))
        self.scan = ScanField("Scan the medication package to give it")
        self.scan.setObjectName("marScan")
        self.scan.scanned.connect(self.on_scan)
        top.addWidget(self.scan, 1)
        self.identity_state = label("")
        self.identity_state.setObjectName("identityState")
        top.addWidget(self.identity_state)
        layout.addLayout(top)
        self.identity = IdentityBanner()
        layout.addWidget(self.identity)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.confirmation = Banner()  # what was just signed; stays until the nurse moves on
        self.confirmation.setObjectName("doseConfirmation")
        layout.addWidget(self.confirmation)
        # Containers first, then their contents: a widget tree added to an already placed
        # container is styled once; placing a filled one restyles all of it again.
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        kinetic(self.scroll_area)
        layout.addWidget(self.scroll_area, 1)
        self.content = QWidget()
        self.scroll_area.setWidget(self.content)
        self._sections = QVBoxLayout(self.content)
        self._sections.setContentsMargins(0, 0, 8, 0)
        self._sections.setSpacing(6)
        self._build_steps: list[Callable[[], None]] = [
            self._build_current_sections, self._build_day_sections, self._build_history
        ]
        if not staged:
            for step in self.take_build_steps():
                step()

    def take_build_steps(self) -> list[Callable[[], None]]:
        """The rest of the construction (the section tables), for a caller that builds in
        steps, one per event-loop turn (:mod:`ui.staged`): each is ~10-15 ms of GUI-thread
        work where the whole screen was ~45 ms. Run them all, in order, before the screen is
        shown. GUI thread only."""
        steps, self._build_steps = self._build_steps, []
        return steps

    def _section(self, title: str, columns: tuple[str, ...], empty: str) -> SectionTable:
        table = SectionTable(title, columns, empty, self.content)  # styled once, in place
        self._sections.addWidget(table)
        return table

    def _build_current_sections(self) -> None:
        self.due = self._section("Due now – tap to give", DOSE_COLUMNS, "Nothing due right now.")
        self.followups = self._section("PRN follow-ups due – tap to record",
                                       ("Status", "Medication", "Given"), "None due.")
        self.due.activated.connect(self._give_dose)
        self.followups.activated.connect(self._followup_record)

    def _build_day_sections(self) -> None:
        self.prn = self._section("As needed (PRN) – tap to give",
                                 ("Status", "Medication", "Dose ·\nroute", "Last 24 h"),
                                 "No PRN orders.")
        self.later = self._section("Later today", DOSE_COLUMNS, "No more doses today.")
        self.done = self._section("Done today", (*DOSE_COLUMNS, "Recorded"),
                                  "Nothing recorded yet today.")
        self.prn.activated.connect(self._give_prn)

    def _build_history(self) -> None:
        self.history = self._section("History – last 7 days (tap an entry to amend or void)",
                                     HISTORY_COLUMNS, "No entries yet.")
        self.history.stretch_last()
        self._sections.addStretch(1)
        self.history_actions = MarHistory(self._ctx, self.history, self)
        self.history_actions.saved.connect(self._history_saved)
        self.history_actions.opened.connect(self._reveal)

    # ---- loading ------------------------------------------------------------------------------
    @property
    def resident_id(self) -> str:
        return self._resident_id

    @property
    def data(self) -> MarData | None:
        return self._data

    def open(self, resident_id: str, wristband_scan: str = "",
             dose: tuple[str, datetime] | None = None) -> None:
        """Shows ``resident_id``'s MAR scrolled to the top, where "Due now" and LATE are, and
        reads it on the worker. ``wristband_scan``, the scan that found the resident, confirms
        identity for a while (:mod:`ui.wristbands`); any other resident's scan is forgotten.
        ``dose`` (order id, scheduled time), from the med pass: once read, that dose opens as if
        tapped here, or the MAR says it is no longer due."""
        if resident_id != self._resident_id:
            self.clear_phi()
        self.dismiss_signed()
        self._resident_id = resident_id
        self._wanted_dose = dose
        wristbands = self._ctx.wristbands
        wristbands.resident_opened(resident_id)
        if wristband_scan:
            wristbands.remember(resident_id, wristband_scan)
        stop_scrolling(self.scroll_area)
        self.scroll_area.verticalScrollBar().setValue(0)
        self.refresh()

    def refresh(self) -> None:
        resident_id = self._resident_id
        backend = self._ctx.backend
        if not resident_id:
            return
        self.read_asked_at = time.monotonic()

        def work(principal: Principal) -> MarData:
            mar = backend.mar.resident_mar(principal, resident_id)
            facility = backend.mar.facility()
            ids = {r.actor_user_id for r in mar.history}
            ids |= {a.author_user_id for r in mar.history for a in r.amendments}
            ids |= {r.voided_by for r in mar.history if r.voided_by}
            return MarData(mar, facility, {i: backend.user_name(i) for i in ids})

        self._ctx.run(work, self._loaded, self._failed)

    def _loaded(self, data: MarData) -> None:
        if self._ctx.principal() is None or data.mar.resident.resident_id != self._resident_id:
            return
        self._data = data
        if self.banner.message is not None and self.banner.message[0] != "ok":
            self.banner.clear_message()  # a refusal is about the MAR read before; "done" stays
        self._render()
        self.scan.setFocus()
        if self._wanted_dose is not None:
            self._open_wanted_dose(data, *self._wanted_dose)

    def _open_wanted_dose(self, data: MarData, order_id: str, scheduled_for: datetime) -> None:
        self._wanted_dose = None
        dose = next((d for d in data.mar.doses_today
                     if d.order_id == order_id and d.scheduled_for == scheduled_for), None)
        actionable = (DoseStatus.DUE, DoseStatus.LATE, DoseStatus.UPCOMING)
        if dose is None or dose.status not in actionable:
            self.banner.show_message(
                "info", "That dose is no longer due: it was documented or the order changed. "
                "The MAR shows where it stands.")
            return
        self._give_dose(dose)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, OutsideAssignment):  # a reason first, never silently
            self._ask_outside_reason()
            return
        self.banner.show_message("error", describe(error).full())

    def _ask_outside_reason(self) -> None:
        resident_id = self._resident_id
        if self.outside_dialog is not None and self.outside_dialog.isVisible():
            return

        def not_opened() -> None:
            if self._resident_id == resident_id:
                self._wanted_dose = None
                self.banner.show_message(
                    "warning", "Not opened: this resident is not on your assignment for this "
                    "shift. Ask the nurse who set it, or give a reason to open the record.")

        self.outside_dialog = ask_outside_reason(self._ctx, self, resident_id, self.refresh,
                                                 not_opened)

    def clear_phi(self) -> None:
        self._data = None
        self.identity.clear()
        self.identity_state.clear()
        self.banner.clear_message()
        self.dismiss_signed()
        self.scan.clear()
        for section in (self.due, self.followups, self.prn, self.later, self.done):
            section.clear()
        self.history_actions.clear()

    def show_message(self, kind: str, text: str) -> None:
        self.banner.show_message(kind, text)

    def show_signed(self, signed: SignedDose) -> None:
        """Confirms a dose just signed: what, how much, when, for whom, by whom; its rows in
        "Done today" and the history are highlighted when the MAR is next shown (the caller
        re-reads it). Stays until the nurse scans, opens a dose or another resident."""
        self._signed = signed
        self.banner.clear_message()
        self.confirmation.show_message("ok", signed.text())

    def dismiss_signed(self, *, redraw: bool = False) -> None:
        """Takes the confirmation away; ``redraw``: the highlight too, now (else at the next
        read, which follows anyway when the nurse leaves the MAR)."""
        if self._signed is None:
            return
        self._signed = None
        self.confirmation.clear_message()
        if redraw and self._data is not None:
            self._render()

    # ---- rendering ----------------------------------------------------------------------------
    def _render(self) -> None:
        data = self._data
        assert data is not None
        mar, zone = data.mar, data.facility.zone
        self.identity.show_resident(mar.resident, mar.as_of.astimezone(zone).date())
        self.identity_state.setText(
            "✓ Wristband scanned" if self._ctx.wristbands.valid_for(self._resident_id)
            else "○ Wristband not scanned"
        )
        orders = {s.order_id: s for s in mar.orders}
        names = data.names
        signed = self._signed.entry_id if self._signed is not None else ""

        def dose_row(dose: ScheduledDose, *extra: str) -> Row:
            order = orders[dose.order_id].order
            style, glyph, words = theme.DOSE_STATUS[dose.status]
            slot = (f"{hhmm(dose.scheduled_for, zone)}  (window {hhmm(dose.window_start, zone)}"
                    f"–{hhmm(dose.window_end, zone)})")
            status, line = f"{glyph} {words}", order_line(order)
            limit = self._outside_scope(order)
            if limit is not None and dose.status in ACTIONABLE:
                status, style, line = f"⊘ {words}: not yours", "outside_scope", limit
            elif not orders[dose.order_id].givable and dose.status in ACTIONABLE:
                if orders[dose.order_id].awaiting_verification:  # an urgent dose only
                    status = f"⚠ {words}: awaiting verification"
                    line += "  ·  urgent dose only: a reason and a second licensed sign-in"
                else:  # returned at verification: never given
                    status, style = f"⊘ {words}: order returned", "outside_scope"
            just = dose.record is not None and dose.record.entry_id == signed
            return Row((status, order_title(order), line, slot, *extra), style, dose,
                       highlight=just)

        due = sorted(mar.doses_with(*ACTIONABLE), key=lambda d: d.scheduled_for)
        self.due.fill([dose_row(d) for d in due])
        follow = []
        for record in mar.followups_due:
            state = orders.get(record.order_id)
            title = order_title(state.order) if state else "PRN dose"
            follow.append(Row(("◷ Follow-up due", title, hhmm(record.administered_at, zone)),
                              "followup", (record, title)))
        self.followups.fill(follow)
        self.followups.setVisible(bool(follow))
        prn_rows = []
        for prn in mar.prn:
            order = prn.order_state.order
            limit = order.schedule.prn_max_doses_24h
            if prn.next_allowed_at is None:
                status, style = "✓ May give now", "given"
            else:
                status = f"◷ Not before {when(prn.next_allowed_at, mar.as_of, zone)}"
                style = "late"
            count = f"{prn.given_24h}" + (f" of max {limit}" if limit else "") + " given"
            if prn.last_given:
                count += f", last {when(prn.last_given, mar.as_of, zone)}"
            line, outside = order_line(order), self._outside_scope(order)
            if outside is not None:
                status, style, line = "⊘ Not yours to give", "outside_scope", outside
            prn_rows.append(Row((status, order_title(order), line, count), style, prn))
        self.prn.fill(prn_rows)
        self.later.fill([dose_row(d) for d in mar.doses_with(DoseStatus.UPCOMING)])
        done_rows = []
        for dose in mar.doses_with(*DONE):
            rec = dose.record
            who = f"{names.get(rec.actor_user_id, '')} at {hhmm(rec.administered_at, zone)}" \
                if rec else ""
            done_rows.append(dose_row(dose, who))
        self.done.fill(done_rows)
        self.history_actions.fill(mar.history, orders, data.facility, names, signed,
                                  mar.overrides)

    # ---- actions ------------------------------------------------------------------------------
    def _reveal(self, widget: QWidget) -> None:
        """Scrolls ``widget`` (a history row's actions, just opened) into view: the screen's
        layout is brought up to date first, so the taller table is there to scroll to."""
        self._sections.activate()
        content = self.content
        content.resize(content.width(), max(content.height(), content.sizeHint().height()))
        self.scroll_area.ensureWidgetVisible(widget, 0, 12)

    def _history_saved(self, message: str) -> None:
        self.dismiss_signed()
        self.banner.show_message("ok", message)
        self.refresh()

    def _give_dose(self, dose: object) -> None:
        data = self._data
        if data is None or not isinstance(dose, ScheduledDose):
            return
        if not self._ctx.may(Permission.RECORD_ADMINISTRATION):
            self.banner.show_message("warning", "Your role can view the MAR but not record.")
            return
        state = next(s for s in data.mar.orders if s.order_id == dose.order_id)
        self._give(state, dose)

    def _give_prn(self, prn: object) -> None:
        if not isinstance(prn, PrnStatus):
            return
        if not self._ctx.may(Permission.RECORD_ADMINISTRATION):
            self.banner.show_message("warning", "Your role can view the MAR but not record.")
            return
        self._give(prn.order_state, None, prn)

    def _followup_record(self, payload: object) -> None:
        if isinstance(payload, tuple) and self._ctx.may(Permission.RECORD_PRN_FOLLOWUP):
            self._followup(*payload)

    def _outside_scope(self, order: Order, *, short: bool = True) -> str | None:
        """Who may give ``order`` instead of the signed-in person (scope of practice), in a
        few words (``short``) or in full; None if they may. The core refuses such a dose
        anyway; the MAR greys it before anyone scans."""
        principal, data = self._ctx.principal(), self._data
        if principal is None or data is None:
            return None
        explain = scope_limit if short else scope_refusal
        return explain(principal.user, order, data.facility.settings)

    def _give(self, state: OrderState, dose: ScheduledDose | None,
              prn: PrnStatus | None = None, medication_scan: str = "") -> None:
        data = self._data
        if data is None:
            return
        if not self._ctx.may(Permission.RECORD_ADMINISTRATION):
            self.banner.show_message("warning", "Your role can view the MAR but not record.")
            return
        why = self._outside_scope(state.order, short=False)
        if why is not None:
            self.banner.show_message("warning", why)
            return
        self.dismiss_signed()
        reasons = prn_reason_choices(
            r.prn_reason for r in data.mar.history if r.order_id == state.order_id
        ) if state.order.is_prn else ()
        self.administer.emit(
            AdminTarget(data.mar, data.facility, state, dose, prn,
                        self._ctx.wristbands.valid_for(data.mar.resident.resident_id),
                        medication_scan, reasons)
        )

    def on_scan(self, text: str) -> None:
        data = self._data
        if data is None:
            return
        self.dismiss_signed(redraw=True)
        if text.strip() == data.mar.resident.wristband_id:
            self._ctx.wristbands.remember(data.mar.resident.resident_id, text)
            self.identity_state.setText("✓ Wristband scanned")
            self.banner.show_message("ok", "Wristband matches. Now scan the medication.")
            return
        mar = data.mar

        def work(_principal: Principal) -> tuple[OrderState, ScheduledDose | None,
                                                 PrnStatus | None]:
            from mar_desktop.clinical import barcodes

            scan = barcodes.parse_scan(text)
            for dose in sorted(mar.doses_with(*ACTIONABLE), key=lambda d: d.scheduled_for):
                state = next(s for s in mar.orders if s.order_id == dose.order_id)
                if barcodes.scan_matches_order(scan, state.order):
                    return state, dose, None
            for prn in mar.prn:
                if barcodes.scan_matches_order(scan, prn.order_state.order):
                    return prn.order_state, None, prn
            raise RuleViolation(
                "Wrong medication: the scanned product does not match any dose due now for "
                "this resident.",
                code="wrong_medication",
            )

        def found(result: tuple[OrderState, ScheduledDose | None, PrnStatus | None]) -> None:
            state, dose, prn = result
            self.banner.clear_message()
            self._give(state, dose, prn, medication_scan=text)

        self._ctx.run(work, found, self._failed)

    def _followup(self, record: AdministrationRecord, title: str) -> None:
        from ui.screens.dialogs import FollowupDialog

        dialog = FollowupDialog(title, self)
        recording = self._ctx.backend.recording
        dialog.submitted.connect(
            lambda v: submit_dialog(self._ctx, dialog, lambda p: recording.record_prn_followup(
                p, record.entry_id, str(v["effective"]),
                pain_score=v["pain_score"], note=str(v["note"])),
                lambda: self._history_saved("Follow-up recorded."))
        )
        dialog.open()
