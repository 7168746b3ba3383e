"""Order verification through the services on a real encrypted store: a hand-entered order
with a wrong dose cannot be given until a second licensed person verifies it; the verifier is
never its author; a returned order is never given; an urgent dose needs a reason and a second
person's sign-in and is flagged; a discontinuation acts at once; an increase waits while the
previous verified version stays givable, a reduction acts at once; the facility setting turns
it off for hand entry only, audited; the pass list marks unverified orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mar_desktop.demo.history import scan_string
from mar_desktop.envelope import new_id
from mar_desktop.errors import PermissionDenied, RuleViolation, ValidationError
from mar_desktop.kinds import WitnessAttestation
from mar_desktop.model import Order, Outcome, Role
from mar_desktop.permissions import Principal
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.verification import VerificationService
from mar_desktop.views import OrderStatus, VerificationStatus
from tests.facility import World
from tests.mar_desktop.services.test_recording_service import audit_kinds, next_slot


def verification(world: World) -> VerificationService:
    return VerificationService(world.ports)


def hand_entered(world: World, drug: str = "Atorvastatin", **changes: object) -> Order:
    """A copy of the demo's ``drug`` order entered by the admin now, with ``changes``."""
    _, base = world.resident_with(drug)
    order = base.model_copy(
        update={"order_id": new_id(), "start": world.clock.now() - timedelta(hours=1), **changes}
    )
    world.reference.create_order(world.principal("admin"), order, allergy_acknowledged=True)
    return order


def give(world: World, order: Order, slot: object = None, **extra: object) -> object:
    """Records the order's next scheduled dose (or ``slot``) as given by the nurse, scanned,
    on time."""
    resident = world.ports.reader().resident(order.resident_id)
    assert resident is not None
    slot = slot or next_slot(world, order)
    world.clock.set(slot + timedelta(minutes=2))  # type: ignore[operator]
    request = AdministrationRequest(
        resident_id=order.resident_id,
        order_id=order.order_id,
        outcome=Outcome.GIVEN,
        scheduled_for=slot,  # type: ignore[arg-type]
        wristband_scan=resident.wristband_id,
        medication_scan=scan_string(order),
        allergy_acknowledged=True,
        **extra,  # type: ignore[arg-type]
    )
    return world.recording.record_administration(world.principal("nurse"), request)


def refused(world: World, order: Order, code: str, **extra: object) -> None:
    with pytest.raises(RuleViolation) as caught:
        give(world, order, **extra)
    assert caught.value.code == code


def pending_for(world: World, order: Order) -> str:
    item = next(
        p for p in verification(world).pending(world.principal("nurse2"))
        if p.pending.state.order_id == order.order_id
    )
    return item.target_entry_id


def second_person(world: World) -> WitnessAttestation:
    user = world.principal("nurse2").user
    return WitnessAttestation(
        user_id=user.user_id, full_name=user.full_name, role=user.role.value,
        authenticated_at=world.clock.now(),
    )


def test_a_hand_entered_order_with_a_wrong_dose_is_not_given_until_verified(world: World) -> None:
    wrong = hand_entered(world, dose=Decimal("200"))  # 20 mg typed as 200
    state = world.ports.reader().order(wrong.order_id)
    assert state is not None and state.verification == VerificationStatus.AWAITING
    refused(world, wrong, "order_unverified")
    target = pending_for(world, wrong)
    verification(world).verify(world.principal("nurse2"), target)
    state = world.ports.reader().order(wrong.order_id)
    assert state is not None and state.verification == VerificationStatus.VERIFIED
    give(world, wrong)  # verified: givable now
    [check] = world.ports.reader().order_checks(wrong.order_id)
    assert check.decision == "verified"
    assert check.actor_user_id == world.principal("nurse2").user.user_id


def test_the_verifier_is_never_the_author(world: World) -> None:
    order = hand_entered(world)
    target = pending_for(world, order)
    admin = world.principal("admin").user
    # the same account, with a verifying role: still its author
    as_verifier = Principal(
        user=admin.model_copy(update={"role": Role.DIRECTOR_OF_NURSING}),
        device_id=world.store.device_id,
    )
    with pytest.raises(RuleViolation) as caught:
        verification(world).verify(as_verifier, target)
    assert caught.value.code == "verifier_self"
    with pytest.raises(PermissionDenied):  # the admin's own role does not verify
        verification(world).verify(world.principal("admin"), target)
    with pytest.raises(PermissionDenied):  # nor does a CNA's
        verification(world).verify(world.principal("cna"), target)
    item = next(i for i in verification(world).pending(as_verifier) if i.target_entry_id == target)
    assert not item.may_verify and "You entered" in item.why_not
    state = world.ports.reader().order(order.order_id)
    assert state is not None and state.awaiting_verification


def test_a_returned_order_cannot_be_given_even_as_an_urgent_dose(world: World) -> None:
    wrong = hand_entered(world, dose=Decimal("200"))
    verification(world).return_order(
        world.principal("nurse2"), pending_for(world, wrong), "200 mg: the prescription says 20"
    )
    state = world.ports.reader().order(wrong.order_id)
    assert state is not None and state.verification == VerificationStatus.RETURNED
    assert "20" in state.returned_reason
    refused(world, wrong, "order_returned")
    refused(world, wrong, "order_returned", urgent_reason="pain",
            urgent_second_person=second_person(world))
    due = world.mar.due_now(world.principal("nurse"), upcoming_within_minutes=24 * 60)
    assert all(d.order_id != wrong.order_id for d in due)  # never listed as due
    with pytest.raises(ValidationError):  # a return needs its reason
        verification(world).return_order(world.principal("nurse2"), "x", " ")


def test_an_urgent_dose_needs_a_reason_and_a_second_person_and_is_flagged(world: World) -> None:
    order = hand_entered(world)
    slot = next_slot(world, order)
    world.clock.set(slot + timedelta(minutes=2))  # type: ignore[operator]
    refused(world, order, "urgent_reason", slot=slot, urgent_second_person=second_person(world))
    refused(world, order, "urgent_second_person", slot=slot, urgent_reason="resident in pain")
    nurse = world.principal("nurse").user
    myself = WitnessAttestation(user_id=nurse.user_id, full_name=nurse.full_name, role="nurse",
                                authenticated_at=world.clock.now())
    refused(world, order, "urgent_second_person", slot=slot, urgent_reason="pain",
            urgent_second_person=myself)
    entry = give(world, order, slot, urgent_reason="resident in pain, pharmacy closed",
                 urgent_second_person=second_person(world))
    record = world.ports.reader().administration(entry.id)  # type: ignore[attr-defined]
    assert record is not None and record.urgent and "pharmacy closed" in record.urgent_reason
    assert record.dose_given == order.dose  # checked against the unverified values
    day = world.clock.now() - timedelta(days=1)
    report = verification(world).urgent_doses(
        world.principal("admin"), since=day, until=world.clock.now() + timedelta(minutes=1)
    )
    assert [u.administration_entry_id for u in report] == [entry.id]  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied):  # the override report is a review role's
        verification(world).urgent_doses(world.principal("nurse"), since=day, until=day)


def test_an_urgent_dose_is_refused_on_a_verified_order(world: World) -> None:
    _, order = world.resident_with("Atorvastatin")
    refused(world, order, "urgent_not_needed", urgent_reason="pain",
            urgent_second_person=second_person(world))


def test_a_discontinuation_acts_at_once_and_is_verified_afterwards(world: World) -> None:
    _, order = world.resident_with("Atorvastatin")
    slot = next_slot(world, order)
    world.clock.set(slot + timedelta(minutes=2))  # type: ignore[operator]
    world.reference.discontinue_order(world.principal("admin"), order.order_id, "stopped by MD")
    refused(world, order, "order_inactive", slot=slot)
    item = next(
        i for i in verification(world).pending(world.principal("nurse2"))
        if i.pending.what == "discontinued" and i.pending.state.order_id == order.order_id
    )
    verification(world).verify(world.principal("nurse2"), item.target_entry_id)
    assert all(
        i.target_entry_id != item.target_entry_id
        for i in verification(world).pending(world.principal("nurse2"))
    )


def test_an_increase_waits_while_the_verified_version_stays_givable(world: World) -> None:
    _, old = world.resident_with("Atorvastatin")
    higher = old.model_copy(update={"order_id": new_id(), "dose": old.dose * 2})
    world.reference.change_order(world.principal("admin"), old.order_id, higher, "dose up")
    states = {s.order_id: s for s in world.ports.reader().orders([old.resident_id])}
    assert states[old.order_id].status == OrderStatus.ACTIVE
    assert states[old.order_id].pending_change == higher.order_id
    assert states[higher.order_id].awaiting_verification
    assert not states[higher.order_id].acts_at_once
    due = world.mar.due_now(world.principal("nurse"), upcoming_within_minutes=24 * 60)
    assert any(d.order_id == old.order_id for d in due)
    assert all(d.order_id != higher.order_id for d in due)  # its previous version is due
    give(world, old)  # the previous verified version is still given
    verification(world).verify(world.principal("nurse2"), pending_for(world, higher))
    read = world.ports.reader()
    now_old, now_new = read.order(old.order_id), read.order(higher.order_id)
    assert now_old is not None and now_old.status == OrderStatus.DISCONTINUED
    assert now_old.replaced_by == higher.order_id
    assert now_new is not None and now_new.verification == VerificationStatus.VERIFIED


def test_a_reduction_acts_at_once_and_is_verified_afterwards(world: World) -> None:
    _, old = world.resident_with("Atorvastatin")
    lower = old.model_copy(update={"order_id": new_id(), "dose": old.dose / 2})
    world.reference.change_order(world.principal("admin"), old.order_id, lower, "dose down")
    read = world.ports.reader()
    before, after = read.order(old.order_id), read.order(lower.order_id)
    assert before is not None and before.status == OrderStatus.DISCONTINUED
    assert after is not None and after.awaiting_verification and after.acts_at_once
    assert after.givable
    give(world, lower, dose_given=str(lower.dose))
    assert pending_for(world, lower)


def test_the_setting_turns_verification_off_for_hand_entry_only_audited(world: World) -> None:
    service = verification(world)
    with pytest.raises(PermissionDenied):
        service.set_hand_entry_verification(world.principal("nurse"), False, "no")
    service.set_hand_entry_verification(world.principal("admin"), False, "pharmacy on site")
    assert audit_kinds(world)[-1] == "audit.settings_changed"
    order = hand_entered(world)
    state = world.ports.reader().order(order.order_id)
    assert state is not None and state.verification == VerificationStatus.VERIFIED
    give(world, order)
    service.set_hand_entry_verification(world.principal("admin"), True, "back on")
    assert world.ports.reader().hand_entry_verification() is True


def test_the_pass_list_marks_an_order_awaiting_verification(world: World) -> None:
    order = hand_entered(world)
    due = world.mar.due_now(world.principal("nurse"), upcoming_within_minutes=24 * 60)
    mine = [d for d in due if d.order_id == order.order_id]
    assert mine and all(d.awaiting_verification for d in mine)
    assert not any(d.awaiting_verification for d in due if d.order_id != order.order_id)


def test_a_director_of_nursing_changes_clinical_settings_only(world: World) -> None:
    admin = world.principal("admin").user
    don = Principal(
        user=admin.model_copy(update={"user_id": "u-don", "username": "don",
                                      "role": Role.DIRECTOR_OF_NURSING}),
        device_id=world.store.device_id,
    )
    settings = world.ports.reader().facility().settings  # type: ignore[union-attr]
    world.reference.change_settings(don, settings.model_copy(update={"window_daily_minutes": 90}))
    with pytest.raises(PermissionDenied):
        world.reference.change_settings(
            don, settings.model_copy(update={"inactivity_lock_seconds": 900})
        )
    verification(world).set_hand_entry_verification(don, False, "pharmacist on site daily")
    assert world.ports.reader().hand_entry_verification() is False
    with pytest.raises(PermissionDenied):  # a nurse changes no setting
        world.reference.change_settings(
            world.principal("nurse"), settings.model_copy(update={"window_daily_minutes": 60})
        )


def test_the_med_pass_marks_an_unverified_order_and_drops_a_returned_one(world: World) -> None:
    order = hand_entered(world)
    world.clock.set(next_slot(world, order))  # type: ignore[arg-type]
    nurse = world.principal("nurse")

    def on_pass() -> list[bool]:
        return [i.awaiting_verification for i in world.mar.pass_list(nurse).items
                if i.order.order_id == order.order_id]

    assert on_pass() == [True]
    verification(world).return_order(
        world.principal("nurse2"), pending_for(world, order), "not this resident's order"
    )
    assert on_pass() == []
