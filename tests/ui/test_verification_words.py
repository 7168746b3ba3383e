"""The verify screen's comparison marks a real difference and only a real one: a dose written
20.0 mg is 20 mg, a time with another offset is the same instant; 50 mg is not 5 mg."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from mar_desktop.clinical.verification import SourceRow
from mar_desktop.model import Order, Resident, Schedule
from mar_desktop.services.verification import VerificationItem
from mar_desktop.views import OrderState, OrderStatus, PendingVerification
from ui.screens.verification_words import CHANGED, DIFFERS, comparison

ZONE = ZoneInfo("America/Chicago")


def item(rows: tuple[SourceRow, ...], previous: tuple[SourceRow, ...] = ()) -> VerificationItem:
    order = Order.model_validate({
        "order_id": "o1", "resident_id": "r1", "drug": "Omeprazole", "dose": Decimal("20"),
        "dose_unit": "mg", "route": "oral", "gtins": ("00399110200010",),
        "schedule": Schedule(kind="fixed_times", times=("07:00",)),
        "start": datetime(2026, 1, 1, tzinfo=UTC),
    })
    resident = Resident.model_validate({
        "resident_id": "r1", "unit_id": "u1", "given_name": "Ada", "family_name": "Lane",
        "date_of_birth": "1940-01-01", "room": "101A", "wristband_id": "WB1",
    })
    pending = PendingVerification(
        state=OrderState(order=order, status=OrderStatus.ACTIVE), what="new",
        target_entry_id="e1", author_user_id="u-admin", entered_at=order.start, source="import",
    )
    return VerificationItem(pending, resident, "Dana", rows, previous, True)


def test_only_real_differences_are_marked() -> None:
    rows = comparison(item((
        SourceRow("dose", "20.0 mg", "20 mg"),
        SourceRow("start", "2026-03-01T15:00:00-06:00", "2026-03-01T21:00:00+00:00"),
        SourceRow("route", "oral", "oral"),
    )), ZONE)
    assert not any(r.differs for r in rows)
    assert rows[1].source == rows[1].ours == "Sun 01 Mar 2026 15:00"  # the facility's time
    wrong = comparison(item((SourceRow("dose", "5 mg", "50 mg"),
                             SourceRow("route", "oral", "IM"))), ZONE)
    assert all(r.differs for r in wrong)
    assert wrong[0].cells(False) == (f"Dose\n{DIFFERS}", "5 mg", "50 mg")


def test_a_change_is_marked_against_the_previous_verified_version() -> None:
    now = (SourceRow("dose", "40 mg", "40 mg"), SourceRow("route", "oral", "oral"))
    before = (SourceRow("dose", "20 mg", "20 mg"), SourceRow("route", "oral", "oral"))
    rows = comparison(item(now, previous=before), ZONE)
    assert rows[0].changed and not rows[0].differs and not rows[1].changed
    assert rows[0].cells(True) == (f"Dose\n{CHANGED}", "40 mg", "40 mg", "20 mg")
