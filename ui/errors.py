"""The ONE place that turns errors into words and dialogs.

:func:`describe` maps any exception to an :class:`ErrorText` (title, message, what to do).
``MarError`` messages are written to be safe to show, so they are shown as they are; a
``RuleViolation`` also gets a hint that steers the nurse to the fix, chosen by its stable
``code``. Anything else is a bug: the person sees a generic message and the log gets the
exception *type* only (never its text, which could hold PHI).

:class:`ErrorPresenter` shows an ErrorText as a non-blocking message box (GUI thread), and is the
TaskRunner's ``default_failure``. Screens that show an error inline (a red banner in the
administration flow) call :func:`describe` and display it themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtWidgets import QMessageBox, QWidget

from mar_desktop import errors as e

log = logging.getLogger(__name__)

GENERIC = "Something went wrong and the action was not completed. Nothing was saved."

HINTS: dict[str, str] = {
    "wrong_resident": "Stop. Check you are with the right resident, then scan THEIR wristband.",
    "wrong_medication": "Do not give it. Take the package named on the order and scan it.",
    "expired": "Do not use this package. Take an in-date one and scan it.",
    "unreadable_scan": "Scan again, holding the code flat and steady.",
    "no_product_codes": "Check the package against the order and tick 'Medication checked'.",
    "outside_window": "Enter why the dose is given outside its time window.",
    "prn_interval": "Too soon after the last dose. Wait until the time shown, or call the "
    "prescriber.",
    "prn_daily_max": "The 24-hour maximum is reached. Do not give; call the prescriber.",
    "prn_reason": "Enter the reason for this as-needed dose.",
    "witness_required": "A second licensed person must sign in as witness first.",
    "witness_same_person": "The witness must be someone else.",
    "witness_unlicensed": "The witness must be a nurse or pharmacist, or a facility admin whose "
    "account records a nursing licence.",
    "outside_scope": "Ask a licensed nurse to give this dose.",
    "route_mismatch": "Give it by the route on the order, or ask the prescriber.",
    "witness_inactive": "Ask another licensed colleague to witness.",
    "witness_stale": "Ask the witness to sign in again.",
    "vitals_required": "Take and enter the vitals shown before recording this dose.",
    "hold_parameters": "Record the dose as Held with reason 'Outside hold parameters'.",
    "allergy_unacknowledged": "Read the allergy warning and confirm you have checked it.",
    "identity_unconfirmed": "Scan the wristband, or confirm identity by hand.",
    "medication_unconfirmed": "Scan the medication package, or confirm it by hand.",
    "site_required": "Choose where the dose was given (site).",
    "reason_required": "Choose a reason code for this outcome.",
    "reason_invalid": "Choose one of the reason codes listed for this outcome.",
    "already_given": "This dose is already recorded. Check the history before doing anything.",
    "order_held": "The order is on hold; do not give.",
    "order_inactive": "The order is not active now; check with the prescriber.",
    "amend_window_closed": "Notes can be amended for 2 hours. Add a new note instead.",
    "amend_not_author": "Only the person who recorded the dose may amend its note.",
    "void_reason": "Enter why the entry is being voided.",
    "void_role": "Ask a nurse or facility admin to void the entry.",
    "witness_missing": "A second licensed person signs in as witness on this device first.",
    "witness_other_device": "Ask the witness to sign in again on this device.",
    "witness_other_dose": "The dose changed after the witness signed: ask them to sign in again.",
    "witness_other_giver": "Ask the witness to sign in again for your dose.",
    "witness_signature": "Ask the witness to sign in again.",
    "witness_used": "Each sign-in witnesses one record: ask the witness to sign in again.",
    "waste_not_given": "Record waste only against a dose that was given.",
    "waste_not_controlled": "Waste with a witness is for Schedule II doses only.",
    "bypass_reason_required": "Tap the reason the scan could not be done.",
    "bypass_reason_unknown": "Tap one of the reasons listed for not scanning.",
    "prn_indication": "Enter why you give it outside the indication, or do not give it.",
    "glucose_required": "Measure the blood glucose and enter it; the scale gives the dose.",
    "scale_no_row": "Do not give it. Call the prescriber about this glucose.",
    "scale_no_dose": "Record the dose as not given (Held) with the glucose.",
    "partial_invalid": "Enter the amount actually taken (less than the dose prepared) and why.",
    "prn_amount_max": "Do not give; call the prescriber about the daily maximum.",
    "amount_max_unknown": "Check the day's doses with the pharmacist before giving.",
}

_TITLES: list[tuple[type[BaseException], str]] = [
    (e.RuleViolation, "Not allowed"),
    (e.PasswordRejected, "Password not accepted"),
    (e.ValidationError, "Check the entry"),
    (e.AccountLocked, "Account locked"),
    (e.Throttled, "Please wait"),
    (e.SessionExpired, "Please sign in"),
    (e.AuthError, "Sign-in failed"),
    (e.PermissionDenied, "Not permitted"),
    (e.NotFound, "Not found"),
    (e.Conflict, "Already done"),
    (e.StorageError, "Could not save"),
    (e.IntegrityError, "Data check failed"),
    (e.SyncError, "Sync problem"),
    (e.MarError, "Problem"),
]


@dataclass(frozen=True, slots=True)
class ErrorText:
    title: str
    message: str
    hint: str = ""
    code: str = ""

    def full(self) -> str:
        return f"{self.message}\n\n{self.hint}" if self.hint else self.message


def describe(error: BaseException) -> ErrorText:
    """Words for ``error``, safe to show. Logs unexpected errors by type only."""
    if isinstance(error, e.MarError):
        title = next(t for cls, t in _TITLES if isinstance(error, cls))
        code = getattr(error, "code", "") if isinstance(error, e.RuleViolation) else ""
        hint = HINTS.get(code, "")
        # A Throttled message already says when to try again (the sign-in screen counts it
        # down), so it gets no hint that would say it twice.
        return ErrorText(title, str(error), hint, code)
    log.error("unexpected error in the app: %s", type(error).__name__)
    return ErrorText("Unexpected problem", GENERIC, "If it happens again, tell your supervisor.")


class ErrorPresenter:
    """Shows errors as message boxes, parented to the main window. GUI thread only.

    Boxes are opened non-modally-blocking (``open()``), so no nested event loop runs; the
    main window closes them all when the screen locks.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent
        self.last: ErrorText | None = None  # for tests and the status line

    def show(self, error: BaseException, parent: QWidget | None = None) -> ErrorText:
        text = describe(error)
        self.last = text
        box = QMessageBox(parent or self.parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(text.title)
        box.setText(f"<b>⚠ {text.title}</b>")
        box.setInformativeText(text.full())
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setObjectName("errorBox")
        box.open()
        return text
