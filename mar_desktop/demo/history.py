"""Plausible med-pass history for the demo, recorded through the real services.

Walks a settable clock through each day: every scheduled dose is given (on time, within its
window), refused, held on its hold parameters, not available, or — rarely — missed; Schedule II
doses carry a witness; some PRNs are given with reasons and followed up; a few records are
voided and recharted, a few notes amended. Every event goes through RecordingService, so the
history obeys the same rules as the bedside. Worker thread; writes through the ports only.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from mar_desktop import kinds
from mar_desktop.clinical.rules import evaluate_hold_parameters
from mar_desktop.clinical.schedule import expand_schedule
from mar_desktop.clock import FakeClock
from mar_desktop.demo.staff import DemoStaff
from mar_desktop.envelope import Actor, new_id
from mar_desktop.errors import RuleViolation
from mar_desktop.kinds import Vitals, WitnessAttestation
from mar_desktop.model import Facility, Order, Outcome, Resident, Role
from mar_desktop.permissions import Principal
from mar_desktop.ports import LedgerWriter
from mar_desktop.services.recording import AdministrationRequest, RecordingService
from mar_desktop.views import OrderState, OrderStatus

SITES = ("left abdomen", "right abdomen", "left thigh", "right thigh", "left upper arm")
PRN_REASONS = (
    ("Pain in lower back", 6),
    ("Headache", 4),
    ("Knee pain", 7),
    ("Anxious", None),
    ("Nausea after lunch", None),
    ("No bowel movement for 3 days", None),
)


@dataclass
class HistoryStats:
    recorded: int = 0
    refused_by_rules: int = 0
    voided: int = 0
    amended: int = 0
    followups: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Event:
    at: datetime
    order: Order
    scheduled_for: datetime | None


def scan_string(order: Order, expiry: str = "281231", lot: str = "L2417A") -> str:
    """What a keyboard-wedge scanner sends for the order's package (GS1 element string)."""
    return f"01{order.gtins[0]}17{expiry}10{lot}"


class HistorySimulator:
    def __init__(
        self,
        recording: RecordingService,
        clock: FakeClock,
        facility: Facility,
        staff: Sequence[DemoStaff],
        device_id: str,
        seed: int = 11,
        ledger: LedgerWriter | None = None,
    ) -> None:
        self._recording = recording
        self._ledger = ledger
        self._clock = clock
        self._facility = facility
        self._rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self._principals = {
            s.user.username: Principal(user=s.user, device_id=device_id) for s in staff
        }
        self.stats = HistoryStats()

    def _nurse_for(self, moment: datetime, resident: Resident, order: Order) -> Principal:
        hour = moment.astimezone(self._facility.zone).hour
        cna = self._principals.get("cna")
        if (
            cna is not None
            and 7 <= hour < 15
            and order.controlled_schedule is None
            and cna.may_see_unit(resident.unit_id)
            and self._rng.random() < 0.5
        ):
            return cna
        return self._principals["nurse2" if 15 <= hour < 23 else "nurse"]

    def _witness_for(self, actor: Principal, at: datetime) -> WitnessAttestation:
        other = next(
            p
            for p in self._principals.values()
            if p.user.role in (Role.NURSE, Role.FACILITY_ADMIN)
            and p.user.user_id != actor.user.user_id
        )
        return WitnessAttestation(
            user_id=other.user.user_id,
            full_name=other.user.full_name,
            role=other.user.role.value,
            credentials=other.user.credentials,
            authenticated_at=at,
        )

    def _vitals(self, order: Order) -> Vitals:
        rng = self._rng
        wanted = {h.vital for h in order.hold_parameters}
        values: dict[str, Decimal] = {}
        if "pulse" in wanted:
            values["pulse"] = Decimal(int(rng.gauss(76, 10)))
        if "systolic_bp" in wanted:
            values["systolic_bp"] = Decimal(int(rng.gauss(128, 14)))
        if "glucose" in wanted:
            values["glucose"] = Decimal(max(40, int(rng.gauss(150, 45))))
        return Vitals.model_validate(values)

    def run(
        self,
        states: Sequence[OrderState],
        residents: Sequence[Resident],
        start: datetime,
        end: datetime,
        progress: Callable[[float, str], None] | None = None,
    ) -> HistoryStats:
        """Records history for ``[start, end)`` day by day. Rule refusals are counted, not
        raised (they mean the simulation asked for something the rules forbid)."""
        by_id = {r.resident_id: r for r in residents}
        live = [s for s in states if s.status != OrderStatus.DISCONTINUED]
        day = start
        total = max(1.0, (end - start).total_seconds())
        while day < end:
            day_end = min(day + timedelta(days=1), end)
            events = self._events(live, day, day_end)
            for event in events:
                self._play(event, by_id[event.order.resident_id])
            day = day_end
            if progress is not None:
                progress((day - start).total_seconds() / total, "Recording demo history")
        return self.stats

    def _events(self, states: Sequence[OrderState], start: datetime, end: datetime) -> list[_Event]:
        events: list[_Event] = []
        for state in states:
            if state.order.is_prn:
                if self._rng.random() < 0.25:
                    minute = self._rng.randint(8 * 60, 21 * 60)
                    local = start.astimezone(self._facility.zone).replace(
                        hour=minute // 60, minute=minute % 60
                    )
                    at = local.astimezone(start.tzinfo)
                    if start <= at < end:
                        events.append(_Event(at, state.order, None))
                continue
            for slot in expand_schedule(state, start, end, self._facility.zone):
                events.append(_Event(slot, state.order, slot))
        events.sort(key=lambda e: e.at)
        return events

    def _play(self, event: _Event, resident: Resident) -> None:
        rng = self._rng
        order = event.order
        actor = self._nurse_for(event.at, resident, order)
        roll = rng.random()
        if event.scheduled_for is not None and roll < 0.01:
            return  # missed: nobody charted it
        drift = 15 if order.time_critical else 25
        at = event.at + timedelta(minutes=rng.uniform(-drift, drift))
        self._clock.set(at + timedelta(seconds=rng.randint(20, 240)))
        vitals = self._vitals(order) if order.hold_parameters else Vitals()
        outcome, code = Outcome.GIVEN, None
        if order.hold_parameters and evaluate_hold_parameters(order, vitals).hold:
            outcome, code = Outcome.HELD, "H"
        elif roll < 0.04:
            outcome, code = Outcome.REFUSED, "R"
        elif roll < 0.05:
            outcome, code = Outcome.NOT_AVAILABLE, "NA"
        prn_reason, pain = rng.choice(PRN_REASONS) if order.is_prn else ("", None)
        request = AdministrationRequest(
            resident_id=resident.resident_id,
            order_id=order.order_id,
            outcome=outcome,
            scheduled_for=event.scheduled_for,
            administered_at=at,
            wristband_scan=resident.wristband_id,
            medication_scan=scan_string(order) if outcome == Outcome.GIVEN else None,
            reason_code=code,
            site=rng.choice(SITES) if order.site_required else "",
            vitals=vitals,
            prn_reason=prn_reason,
            pain_score=pain,
            witness=self._witness_for(actor, self._clock.now())
            if order.needs_witness and outcome == Outcome.GIVEN
            else None,
            allergy_acknowledged=True,
        )
        if request.witness is not None and self._ledger is not None:
            witness_entry_id = demo_witness_entry(
                self._ledger, actor, request.witness, resident.resident_id, order,
                event.scheduled_for,
            )
            request = dataclasses.replace(request, witness_entry_id=witness_entry_id)
        try:
            entry = self._recording.record_administration(actor, request)
        except RuleViolation:
            self.stats.refused_by_rules += 1
            return
        self.stats.recorded += 1
        self.stats.by_outcome[outcome.value] = self.stats.by_outcome.get(outcome.value, 0) + 1
        self._after(entry.id, actor, request, at)

    def _after(
        self, entry_id: str, actor: Principal, request: AdministrationRequest, at: datetime
    ) -> None:
        rng = self._rng
        if request.outcome == Outcome.GIVEN and request.scheduled_for is None:
            self._clock.set(at + timedelta(minutes=rng.randint(60, 90)))
            self._recording.record_prn_followup(actor, entry_id, "effective", pain_score=2)
            self.stats.followups += 1
        elif rng.random() < 0.01:
            self._clock.set(at + timedelta(minutes=rng.randint(5, 60)))
            self._recording.amend_note(actor, entry_id, "Resident tolerated well; no concerns.")
            self.stats.amended += 1
        elif (
            request.outcome == Outcome.GIVEN
            and rng.random() < 0.003
            and actor.user.role in (Role.NURSE, Role.FACILITY_ADMIN)
        ):
            self._clock.set(at + timedelta(minutes=rng.randint(5, 30)))
            self._recording.void_entry(actor, entry_id, "Charted ahead of giving; recharted.")
            self.stats.voided += 1
            try:
                self._recording.record_administration(actor, request)
                self.stats.recorded += 1
            except RuleViolation:
                self.stats.refused_by_rules += 1


def demo_witness_entry(
    ledger: LedgerWriter,
    giver: Principal,
    witness: WitnessAttestation,
    resident_id: str,
    order: Order,
    scheduled_for: datetime | None,
) -> str:
    """Generated history only (demo seed, benchmarks): the ``witness.attested`` entry a
    witness's sign-in would have written for the order's dose, without the witness's own
    signature (no password is typed), so the history shows it as an attestation, not as proven.
    Returns its id. Calling thread; raises what the ledger raises."""
    body = kinds.WitnessAttested(
        purpose="administration",
        record_entry_id=new_id(),
        device_id=ledger.device_id,
        giver_user_id=giver.user.user_id,
        dose=kinds.WitnessedDose(
            resident_id=resident_id,
            order_id=order.order_id,
            scheduled_for=scheduled_for,
            amount=order.dose,
            unit=order.dose_unit,
        ),
        witness=witness,
    )
    actor = Actor(user_id=witness.user_id, role=witness.role)
    return ledger.append([kinds.draft(kinds.WITNESS_ATTESTED, actor, body)])[0].id
