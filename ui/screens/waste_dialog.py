"""Record the waste of part of a Schedule II dose, from its history row: the amount discarded
and why, with the witness signing in on this device in the same form
(docs/architecture.md#the-witness-entry).

GUI thread. :func:`record_waste` runs both steps on the worker through ``ctx.run``: the
witness's sign-in for this waste (its ``witness.attested`` entry), then the
``administration.wasted`` entry that references it; a refusal of either shows in the dialog,
under the field it concerns. The password and code fields are cleared as soon as they are read.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QWidget

from mar_desktop.clinical.witness import WitnessRequest
from mar_desktop.permissions import Principal
from mar_desktop.services.witnessed import WasteRequest
from mar_desktop.views import AdministrationRecord
from ui.context import UiContext
from ui.screens.dialogs import FormDialog
from ui.widgets.common import label

DOSE_CODES = ("dose_invalid", "dose_unit", "dose_mismatch")
WITNESS_CODES = (
    "witness_missing", "witness_stale", "witness_other_device", "witness_other_dose",
    "witness_other_giver", "witness_same_person", "witness_inactive", "witness_unlicensed",
    "witness_signature", "witness_used",
)


def _text(field: QPlainTextEdit | QLineEdit) -> str:
    return field.toPlainText() if isinstance(field, QPlainTextEdit) else field.text()


class WasteDialog(FormDialog):
    """Amount wasted (in ``unit``), reason, and the witness's username, password and code."""

    def __init__(self, what: str, unit: str, parent: QWidget | None) -> None:
        super().__init__(
            "Record waste (Schedule II)",
            "The part of the dose that was discarded, witnessed by a second licensed person "
            "who signs in here.",
            "Record waste",
            parent,
        )
        dose = label(what, "", wrap=True)
        dose.setObjectName("wastedDose")
        self.fields.addWidget(dose)
        self.amount = self.text_field(f"Amount wasted ({unit})", multiline=False)
        self.reason = self.text_field("Reason", multiline=False)
        self.username = self.text_field("Witness username", multiline=False)
        self.password = self.text_field("Witness password", multiline=False, secret=True)
        self.code = self.text_field("Witness authenticator code", multiline=False)
        for code in DOSE_CODES:
            self.field_codes[code] = self.amount
        for code in WITNESS_CODES:
            self.field_codes[code] = self.username
        self.field_codes["waste_reason"] = self.reason

    def missing_field(self) -> tuple[QWidget, str] | None:
        for field, words in ((self.amount, "Enter the amount wasted."),
                             (self.reason, "Enter why it was wasted."),
                             (self.username, "Enter the witness's username."),
                             (self.password, "The witness enters their password."),
                             (self.code, "The witness enters the code from their "
                                         "authenticator.")):
            if not _text(field).strip():
                return field, words
        return None

    def values(self) -> dict[str, object]:
        values: dict[str, object] = {
            "amount": _text(self.amount).strip(),
            "reason": _text(self.reason).strip(),
            "username": _text(self.username).strip().lower(),
            "password": _text(self.password),
            "code": _text(self.code).strip(),
        }
        self.password.clear()
        self.code.clear()
        return values


def waste_work(
    ctx: UiContext, record: AdministrationRecord, values: dict[str, object]
) -> Callable[[Principal], object]:
    """The worker's job for the dialog's ``values``: the witness's sign-in, then the waste."""
    auth, recording = ctx.backend.auth, ctx.backend.recording
    amount, comma = str(values["amount"]), QLocale().decimalPoint() == ","
    witnessed = WitnessRequest(
        purpose="waste", resident_id=record.resident_id, order_id=record.order_id,
        scheduled_for=record.scheduled_for, amount=amount, decimal_comma=comma,
        of_entry_id=record.entry_id,
    )

    def work(principal: Principal) -> object:
        signed = auth.witness_for_record(principal, str(values["username"]),
                                         str(values["password"]), str(values["code"]), witnessed)
        return recording.record_waste(principal, WasteRequest(
            administration_entry_id=record.entry_id, amount=amount,
            reason=str(values["reason"]), witness_entry_id=signed.entry_id,
            decimal_comma=comma,
        ))

    return work
