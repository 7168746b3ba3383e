"""The history section of a resident's MAR (the last 7 days, newest first) and what a nurse
does to an entry: tap a row and its actions open right under it, where the finger is —
"Amend note" (the author, for 2 hours), "Void entry" (with a reason; the dialog names the
entry: time, drug, outcome, who) and, for a given Schedule II dose, "Record waste" (amount,
reason and the witness's sign-in: :mod:`ui.screens.waste_dialog`). Voided entries stay
readable, struck through; amendments show their author and time; the dose just signed is
highlighted; a proven witness shows as "Witnessed by …", from its own entry.

GUI thread. The amendment and the void run on the worker through ``ctx.run``; the service
checks the permission and the rules again (the buttons only guide). Shows PHI until
:meth:`MarHistory.clear`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from mar_desktop.clinical.rules import NOTE_AMEND_WINDOW
from mar_desktop.model import Facility
from mar_desktop.permissions import Permission, Principal
from mar_desktop.views import AdministrationRecord, OrderState, OverrideView
from ui.context import UiContext
from ui.screens.mar_words import (
    OUTCOME_GLYPHS,
    OUTCOME_WORDS,
    amount,
    day_hhmm,
    order_title,
    reason_label,
    record_summary,
    vital_name,
)
from ui.widgets.common import button, label
from ui.widgets.section_table import Row, SectionTable

if TYPE_CHECKING:
    from ui.screens.dialogs import FormDialog

HISTORY_COLUMNS = ("Outcome", "When", "Medication", "Details")
JUST_SIGNED = "◆ just signed"


def submit_dialog(ctx: UiContext, dialog: FormDialog, work: Callable[[Principal], object],
                  done: Callable[[], None]) -> None:
    """Runs ``work`` for a dialog's values: success closes the dialog and calls ``done``; a
    refusal shows in the dialog (under its field when it names one); a locked session closes
    it (nothing is written)."""
    def ok(_entry: object) -> None:
        dialog.accept()
        done()

    if ctx.run(work, ok, dialog.fail) is None:
        dialog.reject()


def history_row(record: AdministrationRecord, state: OrderState | None, facility: Facility,
                names: Mapping[str, str], *, just_signed: bool = False,
                overrides: Sequence[OverrideView] = ()) -> Row:
    """One history row in words: outcome, when, medication, and the details (dose and who,
    witness, reason by its label, vitals by name, the warnings accepted (``overrides``, in
    words), note, amendments, the void)."""
    zone = facility.zone
    outcome = OUTCOME_WORDS.get(record.outcome, record.outcome.value)
    dose = f" {amount(record.dose_given, record.dose_unit)}" if record.dose_given else ""
    lines = [f"{outcome}{dose} by {names.get(record.actor_user_id, record.actor_user_id)}"]
    if record.witnessed_by:
        lines.append(f"Witnessed by {record.witnessed_by} (signed in on this device)")
    elif record.witness_name:
        lines.append(f"Witness: {record.witness_name}")
    if record.reason_code:
        words = reason_label(record.reason_code, facility.settings.reason_codes)
        lines.append(" – ".join(p for p in (f"Reason: {words}", record.reason_text) if p))
    elif record.reason_text:  # e.g. "partial dose: 325 of 650 mg — spat out"
        lines.append(record.reason_text)
    if record.prn_reason:
        lines.append(f"Given for: {record.prn_reason}")
    if record.pain_score is not None:
        lines.append(f"Pain score: {record.pain_score} of 10")
    if record.vitals:
        lines.append("Vitals: " + ", ".join(
            f"{vital_name(k)} {v}" for k, v in record.vitals.items()
        ))
    lines.extend(f"⚠ {override.text}" for override in overrides)
    if record.note:
        lines.append(f"Note: {record.note}")
    for amendment in record.amendments:
        author = names.get(amendment.author_user_id, amendment.author_user_id)
        lines.append(f"Amended note ({author}, {day_hhmm(amendment.recorded_at, zone)}): "
                     f"{amendment.text}")
    for waste in record.wastes:
        who = names.get(waste.actor_user_id, waste.actor_user_id)
        proven = "witnessed by" if waste.witness_proven else "witness (not proven):"
        lines.append(f"Wasted {amount(waste.amount, waste.unit)} by {who} "
                     f"{day_hhmm(waste.wasted_at, zone)}, {proven} {waste.witness_name}: "
                     f"{waste.reason}")
    if record.voided:
        by = names.get(record.voided_by or "", "")
        when = day_hhmm(record.voided_at, zone) if record.voided_at else ""
        lines.append(f"VOIDED (entered in error) by {by} {when}: {record.void_reason}")
        status, style = "⌀ VOIDED", "missed"
    else:
        glyph, style = OUTCOME_GLYPHS.get(record.outcome, ("–", "neutral"))
        status = f"{glyph} {outcome}"
    if just_signed:
        status += f"\n{JUST_SIGNED}"
    title = order_title(state.order) if state else "Medication"
    return Row((status, day_hhmm(record.administered_at, zone), title, "\n".join(lines)),
               style, record, struck=record.voided, highlight=just_signed)


class MarHistory(QObject):
    """Fills ``table`` with the history and opens a row's actions under it on a tap (a second
    tap on the same row closes them). ``saved(str)``: an amendment or a void was stored; the
    words to show (the screen re-reads the MAR). ``opened(QWidget)``: the actions opened."""

    saved = Signal(str)
    opened = Signal(QWidget)  # a row's actions, just opened under it (to scroll into view)

    def __init__(self, ctx: UiContext, table: SectionTable, parent: QWidget) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._parent = parent
        self.table = table
        self._zone: ZoneInfo | None = None
        self._titles: dict[str, str] = {}
        self._orders: Mapping[str, OrderState] = {}
        self._names: Mapping[str, str] = {}
        self._open: AdministrationRecord | None = None
        table.activated.connect(self._tapped)

    def fill(self, records: tuple[AdministrationRecord, ...], orders: Mapping[str, OrderState],
             facility: Facility, names: Mapping[str, str], just_signed: str = "",
             overrides: Mapping[str, Sequence[OverrideView]] | None = None) -> None:
        """Shows ``records`` (newest first) with the warnings accepted for each
        (``overrides``, by entry id); the one with entry id ``just_signed`` highlighted.
        Closes an open row's actions."""
        accepted = overrides or {}
        self._open = None
        self._zone, self._names, self._orders = facility.zone, names, orders
        self._titles = {r.entry_id: order_title(orders[r.order_id].order)
                        if r.order_id in orders else "Medication" for r in records}
        self.table.fill([history_row(r, orders.get(r.order_id), facility, names,
                                     just_signed=r.entry_id == just_signed,
                                     overrides=accepted.get(r.entry_id, ()))
                         for r in records])

    def clear(self) -> None:
        self._open = None
        self._titles, self._names, self._orders = {}, {}, {}
        self.table.clear()

    # ---- the actions under a row --------------------------------------------------------------
    def _tapped(self, payload: object) -> None:
        if not isinstance(payload, AdministrationRecord):
            return
        if self._open is not None and self._open.entry_id == payload.entry_id:
            self.close_actions()
            return
        self.open_actions(payload)

    def close_actions(self) -> None:
        self._open = None
        self.table.close_under()

    def open_actions(self, record: AdministrationRecord) -> None:
        """Opens ``record``'s actions right under its row: what this person may do to it now,
        or why not. Nothing opens for a role that may neither amend nor void."""
        may_amend_notes = self._ctx.may(Permission.AMEND_NOTE)
        may_void = self._ctx.may(Permission.VOID_ENTRY) and not record.voided
        principal = self._ctx.principal()
        index = self.table.row_of(record)
        if principal is None or index is None or not (may_amend_notes
                                                      or self._ctx.may(Permission.VOID_ENTRY)):
            return
        may_amend = (may_amend_notes and not record.voided
                     and record.actor_user_id == principal.user.user_id
                     and self._ctx.clock.now() - record.recorded_at <= NOTE_AMEND_WINDOW)
        strip = QWidget()
        strip.setObjectName("historyActions")
        row = QHBoxLayout(strip)
        row.setContentsMargins(12, 6, 12, 6)
        if record.voided:
            why = "This entry is voided; it stays on record, struck through."
        elif not may_amend and may_amend_notes:
            why = "Notes can be amended by their author for 2 hours."
        else:
            why = ""
        hint = label(why, "muted", wrap=True)
        hint.setObjectName("historyHint")
        row.addWidget(hint, 1)
        if may_amend:
            row.addWidget(button("Amend note", "", lambda: self._amend(record), name="amendNote"))
        if self._may_waste(record):
            row.addWidget(button("Record waste…", "", lambda: self._waste(record),
                                 name="recordWaste"))
        if may_void:
            row.addWidget(button("Void entry…", "danger", lambda: self._void(record),
                                 name="voidEntry"))
        row.addWidget(button("Close", "", self.close_actions, name="closeHistoryActions"))
        self._open = record
        self.table.show_under(index, strip)
        self.opened.emit(strip)

    def _may_waste(self, record: AdministrationRecord) -> bool:
        """A given, not voided Schedule II dose, for someone who records doses."""
        state = self._orders.get(record.order_id)
        return (state is not None and state.order.needs_witness and record.counts_as_given
                and self._ctx.may(Permission.RECORD_ADMINISTRATION))

    def _waste(self, record: AdministrationRecord) -> None:
        from ui.screens.waste_dialog import WasteDialog, waste_work

        assert self._zone is not None
        what = record_summary(record, self._titles.get(record.entry_id, "Medication"),
                              self._names, self._zone)
        dialog = WasteDialog(what, record.dose_unit, self._parent)
        dialog.submitted.connect(
            lambda v: submit_dialog(self._ctx, dialog, waste_work(self._ctx, record, v),
                                    lambda: self.saved.emit(f"Waste recorded: {what}"))
        )
        dialog.open()

    def _amend(self, record: AdministrationRecord) -> None:
        from ui.screens.dialogs import NoteDialog

        dialog = NoteDialog(record.current_note, self._parent)
        recording = self._ctx.backend.recording
        dialog.submitted.connect(
            lambda v: submit_dialog(self._ctx, dialog, lambda p: recording.amend_note(
                p, record.entry_id, str(v["text"])), lambda: self.saved.emit("Note amended."))
        )
        dialog.open()

    def _void(self, record: AdministrationRecord) -> None:
        from ui.screens.dialogs import VoidDialog

        assert self._zone is not None
        what = record_summary(record, self._titles.get(record.entry_id, "Medication"),
                              self._names, self._zone)
        dialog = VoidDialog(what, self._parent)
        recording = self._ctx.backend.recording
        dialog.submitted.connect(
            lambda v: submit_dialog(self._ctx, dialog, lambda p: recording.void_entry(
                p, record.entry_id, str(v["reason"])),
                lambda: self.saved.emit(f"Entry voided: {what}"))
        )
        dialog.open()

