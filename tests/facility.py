"""A small demo facility on a real encrypted store, driven through the services: the world
that service, report, sync and benchmark tests build on (``make_world``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mar_desktop import kinds
from mar_desktop.clock import FakeClock
from mar_desktop.demo.seed import SeedResult, seed_demo
from mar_desktop.demo.staff import DemoStaff
from mar_desktop.envelope import EntryDraft, new_id
from mar_desktop.model import Order, Resident
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.mar import MarService
from mar_desktop.services.recording import RecordingService
from mar_desktop.services.reference import ReferenceService
from storage.local_store import LocalStore

# A Monday afternoon in March, before the US daylight-saving change.
NOW = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 14:00 in America/Chicago


@dataclass
class World:
    store: LocalStore
    ports: Ports
    clock: FakeClock
    seeded: SeedResult
    data_dir: Path

    def principal(self, username: str) -> Principal:
        staff = next(s for s in self.seeded.staff if s.user.username == username)
        return Principal(user=staff.user, device_id=self.store.device_id)

    @property
    def recording(self) -> RecordingService:
        return RecordingService(self.ports)

    @property
    def mar(self) -> MarService:
        return MarService(self.ports)

    @property
    def reference(self) -> ReferenceService:
        return ReferenceService(self.ports)

    def resident_with(self, drug_prefix: str) -> tuple[Resident, Order]:
        for order in self.seeded.demo.orders:
            if order.drug.startswith(drug_prefix):
                resident = next(r for r in self.seeded.demo.residents
                                if r.resident_id == order.resident_id)
                return resident, order
        raise LookupError(drug_prefix)


def append_user(ports: Ports, principal: Principal, member: DemoStaff) -> None:
    """Test stand-in for the people services: the account entry only, no credentials."""
    ports.ledger.append(
        [EntryDraft(kinds.USER_CREATED, principal.actor,
                    kinds.body_json(kinds.UserCreated(user=member.user)))]
    )


def make_world(tmp_path: Path, *, days: int = 0, residents_per_unit: int = 4) -> World:
    clock = FakeClock(NOW)
    data_dir = tmp_path / "data"
    store = LocalStore.create(data_dir, secrets.token_bytes(32), new_id(), clock)
    ports = Ports(store.ledger, store.reader, clock)
    seeded = seed_demo(
        ports,
        device_id=store.device_id,
        facility_id=store.facility_id,
        create_user=lambda p, m: append_user(ports, p, m),
        days=days,
        residents_per_unit=residents_per_unit,
        real_clock=FakeClock(NOW),
    )
    return World(store, ports, clock, seeded, data_dir)
