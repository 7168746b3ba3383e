"""The bedside checks of one dose: right resident (wristband), right medication (package scan,
in date), right time (window), and the resident's allergies. Identity and medication are each
confirmed by a scan or, failing that, by hand.

:func:`check_scans` is the scan check: the administration screen runs it on the worker through
``ctx.run``; it writes nothing and raises ``RuleViolation`` for a refused scan
(``wrong_resident``, ``wrong_medication``, ``expired``, ``unreadable_scan``).
:func:`dose_timing` is pure (any thread). :class:`BedsidePanel` shows who and what, when, and
what is confirmed so far, with the by-hand confirmations: GUI thread only, no worker calls. It
shows and holds PHI (the resident, the accepted scans) until :meth:`BedsidePanel.clear`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from mar_desktop.clock import Clock
from mar_desktop.errors import RuleViolation
from mar_desktop.model import Order, Resident
from ui.screens.resident_mar import AdminTarget, hhmm, order_line, order_title
from ui.widgets.common import button, card, label
from ui.widgets.identity import ResidentPhoto, allergy_text

# (wristband, medication, allergy warnings, "lot … · exp …" of the medication scan)
ScanCheck = tuple[str, str, list[str], str]


def dose_timing(target: AdminTarget, now: datetime) -> tuple[str, bool]:
    """The timing line for ``target`` at ``now`` (scheduled time and window, or when a PRN may
    be given next) and whether a scheduled dose is outside its window (a reason is needed)."""
    zone = target.facility.zone
    if target.dose is None:
        prn = target.prn
        when = "may be given now"
        if prn is not None and prn.next_allowed_at is not None:
            when = f"⚠ not before {hhmm(prn.next_allowed_at, zone)}"
        return f"As needed (PRN)  ·  {when}", False
    dose = target.dose
    inside = dose.window_start <= now <= dose.window_end
    window = f"{hhmm(dose.window_start, zone)}–{hhmm(dose.window_end, zone)}"
    return (
        f"Scheduled {hhmm(dose.scheduled_for, zone)} (window {window})  ·  "
        + ("✓ on time" if inside else "⚠ OUTSIDE the window: give a reason")
    ), not inside


UNKNOWN_BARCODE = (
    "This barcode is not a wristband or a medication this app knows. Scan the resident's "
    "wristband or the medication package."
)


def check_scans(
    wristband: str, medication: str, resident: Resident, order: Order, *, clock: Clock,
    zone: ZoneInfo, is_wristband: Callable[[str], bool] = lambda _text: True,
) -> ScanCheck:
    """Worker thread. Checks a wristband scan against ``resident`` and a medication scan
    against ``order`` (its product, not expired today in ``zone``); either may be "". A medication
    scan that is no medication barcode is checked as a wristband, so another resident's band
    is refused as ``wrong_resident``; one that is no wristband either (``is_wristband``: some
    resident of the facility wears it) is ``unknown_barcode``. Returns the scans, the allergy
    warnings ``order`` raises for ``resident`` and the lot/expiry line. Raises
    ``RuleViolation``; writes nothing."""
    from mar_desktop.clinical import barcodes
    from mar_desktop.clinical.allergies import allergy_matches

    lot = ""
    if wristband:
        barcodes.check_wristband(wristband, resident)
    if medication:
        try:
            scanned = barcodes.parse_scan(medication)
        except RuleViolation:
            if not is_wristband(medication):
                raise RuleViolation(UNKNOWN_BARCODE, code="unknown_barcode") from None
            barcodes.check_wristband(medication, resident)  # a wristband, not ours
            raise
        barcodes.check_medication_scan(scanned, order, now=clock.now(), zone=zone)
        lot = " · ".join(
            x for x in (
                f"lot {scanned.lot}" if scanned.lot else "",
                f"exp {scanned.expiry.isoformat()}" if scanned.expiry else "",
                *scanned.warnings,
            ) if x
        )
    matches = [m.message for m in allergy_matches(resident, order)]
    return wristband, medication, matches, lot


class BedsidePanel(QWidget):
    """The resident line, the allergy line, and a card with the medication, its timing and one
    row of checks: "✓ Wristband scanned" / "○ Scan the wristband" with "Confirm identity by
    hand", the same for the medication. Call :meth:`show_state` after changing the checks.

    ``wristband`` and ``medication`` are the accepted scans ("" before one), ``lot`` the
    medication scan's lot/expiry line; ``identity_confirmed`` and ``medication_confirmed`` are
    set by the by-hand buttons.
    """

    changed = Signal()  # a check confirmed by hand (the row shows it already)
    bypassed = Signal(str)  # "wristband" or "medication": confirmed by hand, a reason is due

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wristband = self.medication = self.lot = ""
        self.identity_confirmed = self.medication_confirmed = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)  # the screen's spacing, which these had as its direct items
        self.who = label("", wrap=True)
        self.who.setObjectName("adminResident")
        self.who.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.photo = ResidentPhoto(72)  # the face to match before the dose
        who_row = QHBoxLayout()
        who_row.setSpacing(12)
        who_row.addWidget(self.photo)
        who_row.addWidget(self.who, 1)
        layout.addLayout(who_row)
        self.allergy = label("", wrap=True)
        self.allergy.setObjectName("allergies")
        layout.addWidget(self.allergy)
        order_card, order_box = card()
        self.drug = label("", "title", wrap=True)
        self.drug.setObjectName("adminDrug")
        self.order_detail = label("", wrap=True)
        self.timing = label("", wrap=True)
        self.timing.setObjectName("adminTiming")
        for widget in (self.drug, self.order_detail, self.timing):
            order_box.addWidget(widget)
        checks = QVBoxLayout()  # one check a line: a "by hand" button never squeezed (portrait)
        checks.setSpacing(6)
        self.identity_check = label("")
        self.identity_check.setObjectName("identityCheck")
        self.confirm_identity = button("Confirm identity by hand", "",
                                       self._identity_by_hand, name="identityByHand")
        self.medication_check = label("", wrap=True)  # lot and expiry: two lines in portrait
        self.medication_check.setObjectName("medicationCheck")
        self.confirm_medication = button("Medication checked by hand", "",
                                         self._medication_by_hand, name="medicationByHand")
        for check, by_hand in ((self.identity_check, self.confirm_identity),
                               (self.medication_check, self.confirm_medication)):
            row = QHBoxLayout()
            row.addWidget(check, 1)
            row.addWidget(by_hand)
            checks.addLayout(row)
        order_box.addLayout(checks)
        layout.addWidget(order_card)

    def show_target(self, target: AdminTarget, now: datetime) -> bool:
        """Shows the resident and the order of ``target`` at ``now``. True if the dose is
        outside its window (a reason is needed)."""
        order, resident = target.state.order, target.mar.resident
        self.photo.show_resident(resident)
        self.who.setText(
            f"{resident.display_name}  ·  Room {resident.room}  ·  Born "
            f"{resident.date_of_birth.strftime('%d %b %Y')}"
        )
        self.allergy.setText(f"⚠ {allergy_text(resident)}" if resident.allergies else
                             "No known allergies")
        self.allergy.setProperty("none", not resident.allergies)  # no alarm colours for none
        self.allergy.style().unpolish(self.allergy)
        self.allergy.style().polish(self.allergy)
        self.allergy.setVisible(True)
        self.drug.setText(order_title(order))
        detail = order_line(order)
        if order.instructions:
            detail += f"\n{order.instructions}"
        self.order_detail.setText(detail)
        timing, outside = dose_timing(target, now)
        self.timing.setText(timing)
        return outside

    def accept(self, wristband: str, medication: str, lot: str) -> None:
        """Keeps the scans :func:`check_scans` passed; "" leaves that scan as it was. ``lot``
        goes with the medication scan."""
        if wristband:
            self.wristband = wristband
        if medication:
            self.medication = medication
            self.lot = lot

    def _identity_by_hand(self) -> None:
        self.identity_confirmed = True
        self.show_state()
        self.bypassed.emit("wristband")
        self.changed.emit()

    def _medication_by_hand(self) -> None:
        self.medication_confirmed = True
        self.show_state()
        self.bypassed.emit("medication")
        self.changed.emit()

    def show_state(self) -> None:
        """The row as the checks stand; a by-hand button only while its check is open."""
        ident = bool(self.wristband) or self.identity_confirmed
        med = bool(self.medication) or self.medication_confirmed
        self.identity_check.setText(
            "✓ Wristband scanned" if self.wristband
            else ("✓ Identity confirmed by hand" if ident else "○ Scan the wristband")
        )
        self.confirm_identity.setVisible(not ident)
        lot = self.lot
        self.medication_check.setText(
            (f"✓ Medication scanned {('· ' + lot) if lot else ''}") if self.medication
            else ("✓ Medication checked by hand" if med else "○ Scan the medication")
        )
        self.confirm_medication.setVisible(not med)

    def clear(self) -> None:
        """Empties every line and forgets the scans and the by-hand confirmations."""
        self.wristband = self.medication = self.lot = ""
        self.identity_confirmed = self.medication_confirmed = False
        for widget in (self.who, self.photo, self.allergy, self.drug, self.order_detail,
                       self.timing, self.identity_check, self.medication_check):
            widget.clear()
