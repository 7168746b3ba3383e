"""One resident's MAR: identity banner (photo, name, room, date of birth, allergies in red with
glyph and words); due now / late / missed; PRN follow-ups due; PRN orders with the next allowed
time; upcoming; done today; 7 days of history with voided entries struck through but readable
and note amendments with author and time.

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
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.clinical.rules import NOTE_AMEND_WINDOW, VITAL_LABELS
from mar_desktop.clinical.scope import scope_limit, scope_refusal
from mar_desktop.errors import RuleViolation
from mar_desktop.model import DoseStatus, Facility, Order
from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.mar import PrnStatus, ResidentMar
from mar_desktop.views import AdministrationRecord, OrderState, ScheduledDose
from ui import theme
from ui.context import UiContext
from ui.errors import describe
from ui.touch import kinetic, stop_scrolling
from ui.widgets.common import Banner, button, label
from ui.widgets.identity import IdentityBanner
from ui.widgets.scan import ScanField
from ui.widgets.section_table import Row, SectionTable

if TYPE_CHECKING:
    from ui.screens.dialogs import FormDialog

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


def order_title(order: Order) -> str:
    parts = [order.drug, order.strength, order.form]
    return " ".join(p for p in parts if p)


def order_line(order: Order) -> str:
    text = f"{order.dose.normalize():f} {order.dose_unit} {order.route}"
    if order.needs_witness:
        text += "  ·  ⚠ Schedule II: witness"
    if order.hold_parameters:
        text += "  ·  ⚠ vitals first"
    return text


def hhmm(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M") if moment else "–"


def day_hhmm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M")


DOSE_COLUMNS = ("Status", "Medication", "Dose · route", "Scheduled")

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
        self._resident_id = ""
        self._wanted_dose: tuple[str, datetime] | None = None  # (order id, scheduled for)
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
                                 ("Status", "Medication", "Dose · route", "Last 24 h"),
                                 "No PRN orders.")
        self.later = self._section("Later today", DOSE_COLUMNS, "No more doses today.")
        self.done = self._section("Done today", (*DOSE_COLUMNS, "Recorded"),
                                  "Nothing recorded yet today.")
        self.prn.activated.connect(self._give_prn)

    def _build_history(self) -> None:
        self.history = self._section("History – last 7 days (tap an entry to amend or void)",
                                     ("Outcome", "When", "Medication", "Details"),
                                     "No entries yet.")
        self.history.stretch_last()
        actions = QHBoxLayout()
        self.history_hint = label("", "muted", wrap=True)
        actions.addWidget(self.history_hint, 1)
        self.amend_button = button("Amend note", "", self._amend_selected, name="amendNote")
        self.void_button = button("Void entry", "danger", self._void_selected, name="voidEntry")
        actions.addWidget(self.amend_button)
        actions.addWidget(self.void_button)
        self._sections.addLayout(actions)
        self._sections.addStretch(1)
        self.history.activated.connect(lambda _r: self._history_selected())
        self._history_selected()

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
        self.banner.clear_message()
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
        self.banner.show_message("error", describe(error).full())

    def clear_phi(self) -> None:
        self._data = None
        self.identity.clear()
        self.identity_state.clear()
        self.banner.clear_message()
        self.scan.clear()
        for section in (self.due, self.followups, self.prn, self.later, self.done,
                        self.history):
            section.clear()
        self.history_hint.clear()

    def show_message(self, kind: str, text: str) -> None:
        self.banner.show_message(kind, text)

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

        def dose_row(dose: ScheduledDose, *extra: str) -> Row:
            order = orders[dose.order_id].order
            style, glyph, words = theme.DOSE_STATUS[dose.status]
            when = (f"{hhmm(dose.scheduled_for, zone)}  (window {hhmm(dose.window_start, zone)}"
                    f"–{hhmm(dose.window_end, zone)})")
            status, line = f"{glyph} {words}", order_line(order)
            limit = self._outside_scope(order)
            if limit is not None and dose.status in ACTIONABLE:
                status, style, line = f"⊘ {words}: not yours", "outside_scope", limit
            return Row((status, order_title(order), line, when, *extra), style, dose)

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
                status, style = f"◷ Not before {hhmm(prn.next_allowed_at, zone)}", "late"
            count = f"{prn.given_24h}" + (f" of max {limit}" if limit else "") + " given"
            if prn.last_given:
                count += f", last {hhmm(prn.last_given, zone)}"
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
        self.history.fill([self._history_row(r, orders.get(r.order_id), data)
                           for r in mar.history], tall=True)
        self._history_selected()

    def _history_row(
        self, record: AdministrationRecord, state: OrderState | None, data: MarData
    ) -> Row:
        zone = data.facility.zone
        names = data.names
        outcome = record.outcome.value.replace("_", " ").capitalize()
        dose = f" {record.dose_given.normalize():f} {record.dose_unit}" if record.dose_given else ""
        lines = [f"{outcome}{dose} by {names.get(record.actor_user_id, record.actor_user_id)}"]
        if record.witness_name:
            lines.append(f"Witness: {record.witness_name}")
        if record.reason_code:
            labels = {c.code: c.label for c in data.facility.settings.reason_codes}
            label = labels.get(record.reason_code, record.reason_code)
            lines.append(" – ".join(p for p in (f"Reason: {label}", record.reason_text) if p))
        if record.vitals:
            lines.append("Vitals: " + ", ".join(
                f"{VITAL_LABELS.get(k, k)} {v}" for k, v in record.vitals.items()
            ))
        if record.note:
            lines.append(f"Note: {record.note}")
        for amendment in record.amendments:
            author = names.get(amendment.author_user_id, amendment.author_user_id)
            lines.append(f"Amended note ({author}, {day_hhmm(amendment.recorded_at, zone)}): "
                         f"{amendment.text}")
        if record.voided:
            by = names.get(record.voided_by or "", "")
            when = day_hhmm(record.voided_at, zone) if record.voided_at else ""
            lines.append(f"VOIDED (entered in error) by {by} {when}: {record.void_reason}")
            status, style = "⌀ VOIDED", "missed"
        else:
            glyph, style = {"given": ("✓", "given"), "held": ("‖", "held"),
                            "refused": ("✕", "held")}.get(record.outcome.value, ("–", "neutral"))
            status = f"{glyph} {outcome}"
        title = order_title(state.order) if state else "Medication"
        return Row((status, day_hhmm(record.administered_at, zone), title, "\n".join(lines)),
                   style, record, struck=record.voided)

    def _history_selected(self) -> None:
        record = self.history.selected()
        principal = self._ctx.principal()
        may_amend = may_void = False
        if isinstance(record, AdministrationRecord) and principal is not None \
                and not record.voided:
            now = self._ctx.clock.now()
            may_amend = (record.actor_user_id == principal.user.user_id
                         and now - record.recorded_at <= NOTE_AMEND_WINDOW
                         and self._ctx.may(Permission.AMEND_NOTE))
            may_void = self._ctx.may(Permission.VOID_ENTRY)
        self.amend_button.setEnabled(may_amend)
        self.void_button.setEnabled(may_void)
        self.amend_button.setVisible(self._ctx.may(Permission.AMEND_NOTE))
        self.void_button.setVisible(self._ctx.may(Permission.VOID_ENTRY))
        if not isinstance(record, AdministrationRecord):
            self.history_hint.setText("Tap an entry in the history to amend its note or void it.")
        elif record.voided:
            self.history_hint.setText("This entry is voided; it stays on record, struck through.")
        elif not may_amend:
            self.history_hint.setText("Notes can be amended by their author for 2 hours.")
        else:
            self.history_hint.setText("")

    # ---- actions ------------------------------------------------------------------------------
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

    def _amend_selected(self) -> None:
        record = self.history.selected()
        if isinstance(record, AdministrationRecord):
            self._amend(record)

    def _void_selected(self) -> None:
        record = self.history.selected()
        if isinstance(record, AdministrationRecord):
            self._void(record)

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
        self.administer.emit(
            AdminTarget(data.mar, data.facility, state, dose, prn,
                        self._ctx.wristbands.valid_for(data.mar.resident.resident_id),
                        medication_scan)
        )

    def on_scan(self, text: str) -> None:
        data = self._data
        if data is None:
            return
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

    def _amend(self, record: AdministrationRecord) -> None:
        from ui.screens.dialogs import NoteDialog

        dialog = NoteDialog(record.current_note, self)
        recording = self._ctx.backend.recording
        dialog.submitted.connect(
            lambda v: self._submit(dialog, lambda p: recording.amend_note(
                p, record.entry_id, str(v["text"])), "Note amended.")
        )
        dialog.open()

    def _void(self, record: AdministrationRecord) -> None:
        from ui.screens.dialogs import VoidDialog

        dialog = VoidDialog(self)
        recording = self._ctx.backend.recording
        dialog.submitted.connect(
            lambda v: self._submit(dialog, lambda p: recording.void_entry(
                p, record.entry_id, str(v["reason"])), "Entry voided.")
        )
        dialog.open()

    def _followup(self, record: AdministrationRecord, title: str) -> None:
        from ui.screens.dialogs import FollowupDialog

        dialog = FollowupDialog(title, self)
        recording = self._ctx.backend.recording
        dialog.submitted.connect(
            lambda v: self._submit(dialog, lambda p: recording.record_prn_followup(
                p, record.entry_id, str(v["effective"]),
                pain_score=v["pain_score"], note=str(v["note"])),
                "Follow-up recorded.")
        )
        dialog.open()

    def _submit(self, dialog: FormDialog, work: Callable[[Principal], object],
                done: str) -> None:
        """Runs ``work`` for the dialog's values: success closes it and says ``done``; an error
        shows in the dialog; a locked session closes it (nothing is written)."""
        def ok(_entry: object) -> None:
            dialog.accept()
            self.banner.show_message("ok", done)
            self.refresh()

        handle = self._ctx.run(work, ok, dialog.fail)
        if handle is None:
            dialog.reject()

