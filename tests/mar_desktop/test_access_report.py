"""The access report model (pure): which entries and server rows are one resident's accesses,
traced through orders and doses; nothing of another resident; sign-ins only of the people and
devices involved; the window's bounds exact; audit twins of ledger entries not listed twice."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mar_desktop import audit, kinds
from mar_desktop.access_report import (
    ServerEvent,
    build_access_report,
    names_from_entries,
)
from mar_desktop.envelope import GENESIS, Actor, Entry, EntryDraft, seal
from mar_desktop.errors import ValidationError
from mar_desktop.signing import DeviceSigner

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SIGNER = DeviceSigner.generate()
NURSE = Actor("u-nurse", "nurse")
OTHER = Actor("u-other", "nurse")
ADMIN = Actor("u-admin", "facility_admin")
_seq = itertools.count(1)


def _entry(kind: str, actor: Actor, body: dict[str, Any], minutes: int,
           device: str = "dev-a") -> Entry:
    return seal(EntryDraft(kind, actor, body), facility_id="f", device_id=device,
                seq=next(_seq), prev=GENESIS, recorded_at=T0 + timedelta(minutes=minutes),
                signer=SIGNER)


def _audit(action: str, actor: Actor, minutes: int, device: str = "dev-a",
           **fields: Any) -> Entry:
    draft = audit.audit_draft(action, actor=actor, user_name=f"Name of {actor.user_id}",
                              **fields)
    return _entry(draft.kind, actor, draft.body, minutes, device)


def _order(order_id: str, resident_id: str, minutes: int = -600) -> Entry:
    return _entry(kinds.ORDER_CREATED, ADMIN,
                  {"order": {"order_id": order_id, "resident_id": resident_id,
                             "drug": "Lisinopril"}, "v": 2}, minutes)


def _dose(resident_id: str, order_id: str, minutes: int, actor: Actor = NURSE,
          device: str = "dev-a") -> Entry:
    return _entry(kinds.ADMINISTRATION_RECORDED, actor,
                  {"resident_id": resident_id, "order_id": order_id, "outcome": "given",
                   "dose_given": "10", "dose_unit": "mg"}, minutes, device)


def _report(entries: list[Entry], events: tuple[ServerEvent, ...] = (),
            resident: str = "r1", hours: int = 2):  # type: ignore[no-untyped-def]
    mentions = [e for e in entries if resident.encode() in e.raw]
    return build_access_report(resident, T0, T0 + timedelta(hours=hours), mentions=mentions,
                               window=entries, server_events=events,
                               devices={"dev-a": "cart-a", "dev-b": "cart-b"})


def _what(report) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return {(r.action, r.user_id, r.device) for r in report.rows}


def test_indirect_references_are_traced_and_other_residents_left_out() -> None:
    dose = _dose("r1", "o1", 10)
    entries = [
        _order("o1", "r1"), _order("o2", "r2"), dose, _dose("r2", "o2", 11),
        _entry(kinds.ENTRY_VOIDED, OTHER, {"target_entry_id": dose.id, "reason": "x"}, 20),
        _entry(kinds.ORDER_HELD, ADMIN, {"order_id": "o1", "reason": "npo"}, 30),
        _entry(kinds.ORDER_HELD, ADMIN, {"order_id": "o2", "reason": "npo"}, 31),
        _entry(kinds.ORDER_VERIFIED, OTHER, {"order_id": "o2", "target_entry_id": "t"}, 32),
        _audit(audit.RECORD_CREATED, NURSE, 10, entity_type="resident", entity_id="r1"),
    ]
    report = _report(entries)
    assert [(r.action, r.user_id) for r in report.rows] == [
        ("dose", "u-nurse"), ("change", "u-other"), ("change", "u-admin")]
    assert report.rows[0].device == "cart-a" and "10 mg" in report.rows[0].what


def test_views_prints_exports_and_refusals_name_the_resident() -> None:
    entries = [
        _audit(audit.RESIDENT_VIEWED, NURSE, 1, entity_type="resident", entity_id="r1"),
        _audit(audit.RESIDENT_VIEWED, NURSE, 2, entity_type="resident", entity_id="r2"),
        _audit(audit.PRINTED, ADMIN, 3, entity_type="report", entity_id="monthly_mar",
               after={"report": "monthly_mar", "resident_ids": ["r0", "r1"]}),
        _audit(audit.PRINTED, ADMIN, 4, entity_type="report", entity_id="shift_mar",
               after={"report": "shift_mar", "resident_ids": ["r2"]}),
        _audit(audit.EXPORTED, ADMIN, 5, device="dev-b", entity_type="facility",
               entity_id="surveyor_export", after={"report": "surveyor_export",
                                                   "resident_ids": ["r1"]}),
        _audit(audit.PERMISSION_REFUSED, OTHER, 6, entity_type="resident", entity_id="r1",
               detail="view_mar: not your unit"),
        _audit(audit.AUDIT_VIEWED, ADMIN, 7, entity_type="audit"),  # unsure: left out
    ]
    report = _report(entries)
    assert [r.action for r in report.rows] == ["view", "print", "export", "refused"]
    assert report.rows[2].device == "cart-b"
    assert "not your unit" in report.rows[3].what


def test_sign_ins_only_of_the_people_and_devices_involved() -> None:
    entries = [
        _audit(audit.LOGIN, NURSE, 0),
        _audit(audit.LOGIN, OTHER, 0, device="dev-b"),  # touched nothing of r1
        _audit(audit.RESIDENT_VIEWED, NURSE, 1, entity_type="resident", entity_id="r1"),
        _audit(audit.RESIDENT_VIEWED, OTHER, 2, device="dev-b", entity_type="resident",
               entity_id="r2"),
        _audit(audit.LOGOUT, NURSE, 3, detail="logout"),
        _audit(audit.LOGIN_FAILED, NURSE, 4),
    ]
    at = (T0 + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    events = (
        ServerEvent(1, at, "dev-a", "signed_in", "10.0.0.7", ""),
        ServerEvent(2, at, "dev-b", "signed_in", "10.0.0.8", ""),  # not involved
        ServerEvent(3, at, "dev-a", "pushed", "10.0.0.7", "3 entries"),
        ServerEvent(4, at, None, "access_report", "cli:ops", "resident r1 2026-05-01 rows=3"),
        ServerEvent(5, at, None, "access_report", "cli:ops", "resident r10 2026-05-01"),
    )
    report = _report(entries, events)
    assert [(r.action, r.user_id or r.person, r.ip) for r in report.rows] == [
        ("sign-in", "u-nurse", ""),
        ("export", "cli:ops", "cli:ops"),  # same minute: by device, then by reference
        ("view", "u-nurse", ""),
        ("sign-in", "device cart-a", "10.0.0.7"),
        ("sign-out", "u-nurse", ""),
        ("sign-in", "u-nurse", ""),
    ]
    assert report.rows[0].person == "Name of u-nurse"
    assert report.rows[-1].what == "Sign-in failed"


def test_the_window_is_half_open_and_checked() -> None:
    def view(minutes: int) -> Entry:
        return _audit(audit.RESIDENT_VIEWED, NURSE, minutes, entity_type="resident",
                      entity_id="r1")

    report = _report([view(-1), view(0), view(119), view(120)])
    assert [r.at[11:16] for r in report.rows] == ["12:00", "13:59"]
    with pytest.raises(ValidationError):
        build_access_report("r1", T0, T0, mentions=[], window=[])
    with pytest.raises(ValidationError):
        build_access_report("", T0, T0 + timedelta(hours=1), mentions=[], window=[])


def test_a_dose_recorded_before_the_window_is_still_traced_from_a_void_inside_it() -> None:
    dose = _dose("r1", "o1", -300)
    void = _entry(kinds.ENTRY_VOIDED, OTHER, {"target_entry_id": dose.id, "reason": "x"}, 5)
    report = build_access_report("r1", T0, T0 + timedelta(hours=1), mentions=[dose],
                                 window=[void])
    assert [(r.action, r.ref) for r in report.rows] == [("change", void.id)]


def test_names_from_user_entries() -> None:
    created = _entry(kinds.USER_CREATED, ADMIN,
                     {"user": {"user_id": "u-nurse", "full_name": "Ana Ruiz"}}, 0)
    changed = _entry(kinds.USER_CHANGED, ADMIN,
                     {"before": {"user_id": "u-nurse", "full_name": "Ana Ruiz"},
                      "after": {"user_id": "u-nurse", "full_name": "Ana Ruiz-Lee"}}, 1)
    assert names_from_entries([changed, created]) == {"u-nurse": "Ana Ruiz-Lee"}

