"""Builders for the clinical unit tests: small, explicit, every default visible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mar_desktop.model import (
    Allergy,
    Facility,
    FacilitySettings,
    HoldParameter,
    Order,
    Outcome,
    Resident,
    Role,
    Schedule,
    User,
)
from mar_desktop.views import AdministrationRecord, Interval, OrderState, OrderStatus

NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"
NY = ZoneInfo(NEW_YORK)
BER = ZoneInfo(BERLIN)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    """A local wall-clock time as an aware UTC instant."""
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)  # type: ignore[misc]


def facility(timezone: str = NEW_YORK, **settings: Any) -> Facility:
    return Facility(
        facility_id="fac-1",
        name="Test Facility",
        timezone=timezone,
        settings=FacilitySettings(**settings),
    )


def fixed(*times: str, days: tuple[int, ...] | None = None) -> Schedule:
    return Schedule(kind="fixed_times", times=times, days_of_week=days)


def every(hours: int, anchor: str = "00:00") -> Schedule:
    return Schedule(kind="every_n_hours", every_hours=hours, anchor=anchor)


def prn(min_interval: int | None = 240, max_24h: int | None = 4) -> Schedule:
    return Schedule(kind="prn", prn_min_interval_minutes=min_interval, prn_max_doses_24h=max_24h)


def order(
    schedule: Schedule | None = None,
    *,
    order_id: str = "ord-1",
    resident_id: str = "res-1",
    drug: str = "Metoprolol tartrate",
    start: datetime | None = None,
    end: datetime | None = None,
    **fields: Any,
) -> Order:
    return Order(
        order_id=order_id,
        resident_id=resident_id,
        drug=drug,
        dose=Decimal("25"),
        dose_unit="mg",
        route="PO",
        schedule=schedule or fixed("08:00"),
        start=start or utc(2024, 1, 1),
        end=end,
        **fields,
    )


def state(
    the_order: Order,
    *,
    holds: tuple[Interval, ...] = (),
    discontinued_at: datetime | None = None,
) -> OrderState:
    status = OrderStatus.DISCONTINUED if discontinued_at else OrderStatus.ACTIVE
    return OrderState(order=the_order, status=status, holds=holds, discontinued_at=discontinued_at)


_counter = iter(range(1, 10**9))


def record(
    scheduled_for: datetime | None,
    outcome: Outcome = Outcome.GIVEN,
    *,
    order_id: str = "ord-1",
    administered_at: datetime | None = None,
    recorded_at: datetime | None = None,
    voided: bool = False,
    actor_user_id: str = "u-nurse",
    **fields: Any,
) -> AdministrationRecord:
    when = administered_at or scheduled_for or utc(2024, 1, 1)
    return AdministrationRecord(
        entry_id=f"e-{next(_counter)}",
        resident_id="res-1",
        order_id=order_id,
        scheduled_for=scheduled_for,
        administered_at=when,
        recorded_at=recorded_at or when + timedelta(seconds=5),
        outcome=outcome,
        actor_user_id=actor_user_id,
        actor_role="nurse",
        device_id="dev-1",
        voided=voided,
        **fields,
    )


def user(
    user_id: str = "u-witness",
    role: Role = Role.NURSE,
    *,
    active: bool = True,
    credentials: str = "",
) -> User:
    return User(
        user_id=user_id,
        username=user_id.replace("u-", ""),
        full_name="Test Person",
        initials="TP",
        credentials=credentials,
        role=role,
        active=active,
    )


def resident(*allergies: str, wristband_id: str = "WB-000123") -> Resident:
    return Resident(
        resident_id="res-1",
        unit_id="unit-1",
        given_name="Test",
        family_name="Resident",
        date_of_birth=datetime(1940, 5, 1).date(),
        room="101",
        wristband_id=wristband_id,
        allergies=tuple(Allergy(substance=a) for a in allergies),
    )


def hold(vital: str, minimum: str | None = None, maximum: str | None = None) -> HoldParameter:
    return HoldParameter(
        vital=vital,  # type: ignore[arg-type]
        minimum=Decimal(minimum) if minimum is not None else None,
        maximum=Decimal(maximum) if maximum is not None else None,
    )
