"""Realistic test entries: drafts for a facility, unit, users, residents, orders and doses.

Until the services exist, tests build drafts directly; anyone may use these. Every function
returns an :class:`EntryDraft` whose body is a validated model's JSON. Ids are fresh UUIDv7s
unless given. Names are obviously fictional.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from mar_desktop import kinds
from mar_desktop.envelope import Actor, EntryDraft, new_id
from mar_desktop.model import (
    ALL_UNITS,
    Allergy,
    Facility,
    FacilitySettings,
    Order,
    Outcome,
    Resident,
    Role,
    Schedule,
    Unit,
    User,
)

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ADMIN = Actor(user_id="user-admin", role="facility_admin")
NURSE = Actor(user_id="user-nurse", role="nurse")


def draft(
    kind: str, body: kinds.Body, actor: Actor = ADMIN, entry_id: str | None = None
) -> EntryDraft:
    return EntryDraft(kind, actor, kinds.body_json(body), entry_id)


def facility(facility_id: str = "fac-1", *, name: str = "Maple Grove Care") -> EntryDraft:
    model = Facility(facility_id=facility_id, name=name, timezone="America/Chicago")
    return draft(kinds.FACILITY_CONFIGURED, kinds.FacilityConfigured(facility=model))


def settings_changed(**after: Any) -> EntryDraft:
    return draft(
        kinds.SETTINGS_CHANGED,
        kinds.SettingsChanged(before=FacilitySettings(), after=FacilitySettings(**after)),
    )


def unit(unit_id: str | None = None, *, name: str = "North Wing") -> EntryDraft:
    model = Unit(unit_id=unit_id or new_id(), name=name)
    return draft(kinds.UNIT_CREATED, kinds.UnitCreated(unit=model))


def user(
    user_id: str | None = None,
    *,
    username: str = "nurse.test",
    role: Role = Role.NURSE,
    full_name: str = "Testa Nurse",
    unit_ids: tuple[str, ...] = (ALL_UNITS,),
) -> EntryDraft:
    model = User(
        user_id=user_id or new_id(),
        username=username,
        full_name=full_name,
        initials="TN",
        credentials="RN",
        role=role,
        unit_ids=unit_ids,
    )
    return draft(kinds.USER_CREATED, kinds.UserCreated(user=model))


def resident_model(
    unit_id: str,
    resident_id: str | None = None,
    *,
    room: str = "101A",
    family_name: str = "Testperson",
    given_name: str = "Alpha",
    wristband_id: str | None = None,
) -> Resident:
    rid = resident_id or new_id()
    return Resident(
        resident_id=rid,
        unit_id=unit_id,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date(1938, 4, 2),
        room=room,
        wristband_id=wristband_id or f"WB-{rid[-8:]}",
        allergies=(Allergy(substance="Penicillin", reaction="rash", severity="moderate"),),
    )


def admit(resident: Resident) -> EntryDraft:
    return draft(kinds.RESIDENT_ADMITTED, kinds.ResidentAdmitted(resident=resident))


def resident(unit_id: str, resident_id: str | None = None, **fields: Any) -> EntryDraft:
    return admit(resident_model(unit_id, resident_id, **fields))


def order_model(
    resident_id: str,
    order_id: str | None = None,
    *,
    drug: str = "Metoprolol tartrate",
    times: tuple[str, ...] = ("08:00", "20:00"),
    prn: bool = False,
    start: datetime = T0 - timedelta(days=30),
    **fields: Any,
) -> Order:
    schedule = (
        Schedule(kind="prn", prn_min_interval_minutes=240, prn_max_doses_24h=4)
        if prn
        else Schedule(kind="fixed_times", times=times)
    )
    values: dict[str, Any] = {
        "strength": "25 mg",
        "form": "tablet",
        "dose": Decimal("1"),
        "dose_unit": "tablet",
        "route": "PO",
        "prescriber": "Dr. Example",
        **fields,
    }
    return Order(
        order_id=order_id or new_id(),
        resident_id=resident_id,
        drug=drug,
        schedule=schedule,
        start=start,
        **values,
    )


def order(resident_id: str, order_id: str | None = None, **fields: Any) -> EntryDraft:
    return draft(
        kinds.ORDER_CREATED, kinds.OrderCreated(order=order_model(resident_id, order_id, **fields))
    )


def order_status(
    kind: str, order_id: str, effective_at: datetime, reason: str = "per prescriber"
) -> EntryDraft:
    body = kinds.OrderStatusChanged(order_id=order_id, reason=reason, effective_at=effective_at)
    return draft(kind, body)


def administration(
    resident_id: str,
    order_id: str,
    *,
    scheduled_for: datetime | None = T0,
    administered_at: datetime | None = None,
    outcome: Outcome = Outcome.GIVEN,
    actor: Actor = NURSE,
    entry_id: str | None = None,
    **fields: Any,
) -> EntryDraft:
    body = kinds.AdministrationRecorded(
        resident_id=resident_id,
        order_id=order_id,
        scheduled_for=scheduled_for,
        administered_at=administered_at or scheduled_for or T0,
        outcome=outcome,
        dose_given=Decimal("1") if outcome == Outcome.GIVEN else None,
        dose_unit="tablet",
        route="PO",
        **fields,
    )
    return draft(kinds.ADMINISTRATION_RECORDED, body, actor, entry_id)


def void(
    target_entry_id: str, reason: str = "charted on wrong resident", actor: Actor = NURSE
) -> EntryDraft:
    return draft(
        kinds.ENTRY_VOIDED, kinds.EntryVoided(target_entry_id=target_entry_id, reason=reason), actor
    )


def amend(target_entry_id: str, text: str, actor: Actor = NURSE) -> EntryDraft:
    return draft(
        kinds.NOTE_AMENDED, kinds.NoteAmended(target_entry_id=target_entry_id, text=text), actor
    )


def followup(target_entry_id: str, assessed_at: datetime, actor: Actor = NURSE) -> EntryDraft:
    body = kinds.PrnFollowupRecorded(
        target_entry_id=target_entry_id,
        effective="effective",
        pain_score=2,
        assessed_at=assessed_at,
    )
    return draft(kinds.PRN_FOLLOWUP_RECORDED, body, actor)


def audit(action: str = "login", actor: Actor = NURSE, **fields: Any) -> EntryDraft:
    body = kinds.AuditEvent(
        user_id=actor.user_id, user_name="Testa Nurse", role=actor.role, **fields
    )
    return draft(f"audit.{action}", body, actor)


def small_facility(residents: int = 3) -> tuple[list[EntryDraft], dict[str, Any]]:
    """A facility, a unit, a nurse, ``residents`` residents each with a scheduled and a PRN order.

    Returns the drafts and a dict of the ids (``unit_id``, ``resident_ids``, ``order_ids``,
    ``prn_order_ids``).
    """
    unit_draft = unit()
    unit_id = unit_draft.body["unit"]["unit_id"]
    drafts = [facility(), unit_draft, user()]
    ids: dict[str, Any] = {
        "unit_id": unit_id,
        "resident_ids": [],
        "order_ids": [],
        "prn_order_ids": [],
    }
    for index in range(residents):
        res = resident_model(unit_id, room=f"{101 + index}A", given_name=f"Resident{index}")
        scheduled = order_model(res.resident_id)
        prn = order_model(res.resident_id, drug="Acetaminophen", prn=True)
        drafts += [
            admit(res),
            draft(kinds.ORDER_CREATED, kinds.OrderCreated(order=scheduled)),
            draft(kinds.ORDER_CREATED, kinds.OrderCreated(order=prn)),
        ]
        ids["resident_ids"].append(res.resident_id)
        ids["order_ids"].append(scheduled.order_id)
        ids["prn_order_ids"].append(prn.order_id)
    return drafts, ids
