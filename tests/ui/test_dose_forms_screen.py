"""Dose forms on the administration screen: a range amount is one tap and the Confirm button
says the amount signed; a sliding-scale dose is filled in from the glucose typed; 6500 typed
for a 650 mg order is refused under the dose field; a partial dose is signed with its words."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mar_desktop.demo.catalog import gtin_for_ndc
from mar_desktop.model import Order, Outcome, Schedule, SlidingScaleRow
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.reference import ReferenceService
from mar_desktop.services.verification import VerificationService
from tests.ui.harness import Facility1, med_scan
from tests.ui.steps import idle, open_resident_by_wristband, scan, sign_in, tap, wait
from tests.ui.test_med_pass import records
from tests.ui.test_taps import Taps
from ui.main_window import MainWindow
from ui.screens.administration import AdministrationScreen

FIXED_GTIN = gtin_for_ndc("0904-6725-60")
RANGE_GTIN = gtin_for_ndc("0904-6726-60")
SCALE_GTIN = gtin_for_ndc("0002-7510-01")


def _order(oid: str, drug: str, gtin: str, **fields: object) -> Order:
    values: dict[str, object] = {
        "order_id": oid, "resident_id": "r3", "drug": drug, "gtins": (gtin,),
        "strength": "325 mg", "form": "tablet", "dose": Decimal(650), "dose_unit": "mg",
        "route": "PO", "schedule": Schedule(kind="fixed_times", times=("08:00",)),
        "start": datetime(2025, 12, 1, tzinfo=UTC),
    }
    values.update(fields)
    return Order.model_validate(values)


ORDERS = (
    _order("o-apap650", "Acetaminophen", FIXED_GTIN),
    _order("o-range", "Acetaminophen", RANGE_GTIN, dose=Decimal(325), dose_max=Decimal(650),
           schedule=Schedule(kind="prn")),
    _order("o-scale", "Insulin lispro", SCALE_GTIN, strength="100 units/mL", form="pen",
           dose=Decimal(4), dose_unit="units", route="SC", site_required=True,
           sliding_scale=(
               SlidingScaleRow(glucose_min=Decimal(151), glucose_max=Decimal(200), dose=Decimal(2)),
               SlidingScaleRow(glucose_min=Decimal(201), glucose_max=Decimal(300), dose=Decimal(4)),
           )),
)


@pytest.fixture
def facility(facility: Facility1) -> Facility1:
    """The UI facility with the dose-form orders on Clarence (r3), entered and verified."""
    ports = Ports(facility.store.ledger, facility.store.reader, facility.clock)
    read = ports.reader()
    admin, checker = read.user("u-admin"), read.user("u-nurse2")
    assert admin is not None and checker is not None
    device = facility.store.device_id
    for order in ORDERS:
        ReferenceService(ports).create_order(Principal(user=admin, device_id=device), order)
    queue = ports.reader().pending_verifications()
    VerificationService(ports).verify_many(
        Principal(user=checker, device_id=device), [p.target_entry_id for p in queue]
    )
    return facility


def _opened(qtbot: object, window: MainWindow, facility: Facility1, gtin: str
            ) -> AdministrationScreen:
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB200001")
    scan(qtbot, window.mar.scan, med_scan(gtin))
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin
         and admin.bedside.medication_check.text().startswith("✓"))
    idle(qtbot, window)
    return admin


def test_a_range_amount_is_one_tap_and_the_confirmation_is_what_is_signed(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    admin = _opened(qtbot, window, facility, RANGE_GTIN)
    finger = Taps(qtbot)
    finger(admin.form.outcome_buttons[Outcome.GIVEN])
    assert _said(admin) == "Confirm: ✓ Given – Acetaminophen 325–650 mg oral"
    choices = admin.form.dose_choices
    assert choices is not None
    assert [b.accessibleName() for b in choices.buttons()] == ["325 mg", "650 mg"]
    finger(choices.buttons()[1])
    assert admin.form.entry("dose") == "650"
    prn = admin.form.prn_choices
    assert prn is not None
    finger(prn.buttons()[0])
    confirm_text = _said(admin)
    assert confirm_text == "Confirm: ✓ Given – Acetaminophen 325 mg tablet × 2 = 650 mg oral"
    finger(admin.confirm)
    wait(qtbot, lambda: records(facility, "o-range"))
    assert finger.count == 4  # Given, the amount, the reason, Confirm: nothing typed
    (record,) = records(facility, "o-range")
    assert (record.dose_given, record.dose_unit) == (Decimal(650), "mg")
    assert confirm_text.endswith(f"= {record.dose_given:f} {record.dose_unit} oral")


def test_a_sliding_scale_dose_follows_the_glucose_typed(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    admin = _opened(qtbot, window, facility, SCALE_GTIN)
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    admin.form.fields["vital_glucose"].setText("220")
    assert admin.form.entry("dose") == "4"
    admin.form.fields["site"].setCurrentText("Abdomen – left")
    confirm_text = _said(admin)
    assert confirm_text == "Confirm: ✓ Given – Insulin lispro 4 units subcutaneous"
    admin.form.fields["vital_glucose"].setText("350")  # outside every row
    assert admin.form.entry("dose") == ""
    admin.form.fields["dose"].setText("4")
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: admin.form.field_error("vital_glucose") != "")
    assert "call the prescriber" in admin.form.field_error("vital_glucose")
    assert records(facility, "o-scale") == []
    admin.form.fields["vital_glucose"].setText("220")
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: records(facility, "o-scale"))
    (record,) = records(facility, "o-scale")
    assert (record.dose_given, record.dose_unit) == (Decimal(4), "units")
    assert record.vitals.get("glucose") == "220"


def test_6500_for_a_650_mg_order_is_refused_at_the_field(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    admin = _opened(qtbot, window, facility, FIXED_GTIN)
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    admin.form.fields["dose"].setText("6500")
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: admin.form.field_error("dose") != "")
    message = admin.form.field_error("dose")
    assert "650 mg" in message and "6500 mg" in message
    assert records(facility, "o-apap650") == []


def test_a_partial_dose_is_signed_as_given_with_the_amount_taken(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    admin = _opened(qtbot, window, facility, FIXED_GTIN)
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    tap(qtbot, admin.form.fields["partial"])
    admin.form.fields["partial_taken"].setText("325")
    admin.form.fields["partial_reason"].setText("spat out")
    assert _said(admin) == (
        "Confirm: ✓ Given – Acetaminophen 325 mg tablet × 1 = 325 mg oral "
        "(partial dose: 325 of 650 mg)"
    )
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: records(facility, "o-apap650"))
    (record,) = records(facility, "o-apap650")
    assert record.outcome is Outcome.GIVEN and record.dose_given == Decimal(325)
    assert record.reason_text == "partial dose: 325 of 650 mg — spat out"


def _said(admin: object) -> str:
    """The confirm button's words (it wraps them over as many lines as its width needs)."""
    return " ".join(admin.confirm.text().split())  # type: ignore[attr-defined]
