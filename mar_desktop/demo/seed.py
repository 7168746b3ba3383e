"""Seeding the demo facility through the services (``mar-desktop seed-demo``).

Worker thread. Writes: the facility (system actor; unless the store already holds it, as an
enrolled tablet does once it has synced: only the server records a facility's configuration
there), the first admin (bootstrap), the other
demo staff (through ``create_user``; ``set_credentials`` then gives every demo account its
password and TOTP secret through the people services), units, residents and orders (as the
admin, then verified by the demo's nurse), then ``days`` of history ending now. Everything
is signed, chained and audited like
real use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from mar_desktop.clock import Clock, FakeClock
from mar_desktop.demo.facility import DemoFacility, demo_facility
from mar_desktop.demo.history import HistorySimulator, HistoryStats
from mar_desktop.demo.staff import DemoStaff, demo_staff
from mar_desktop.errors import ValidationError
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.recording import RecordingService
from mar_desktop.services.reference import ReferenceService
from mar_desktop.services.verification import VerificationService

CreateUser = Callable[[Principal, DemoStaff], None]
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SeedResult:
    demo: DemoFacility
    staff: tuple[DemoStaff, ...]
    history: HistoryStats


def seed_demo(
    ports: Ports,
    *,
    device_id: str,
    facility_id: str,
    create_user: CreateUser,
    set_credentials: Callable[[DemoStaff], None] | None = None,
    days: int = 14,
    residents_per_unit: int = 20,
    real_clock: Clock,
    progress: Progress | None = None,
) -> SeedResult:
    """Seeds an empty store. ``ports.clock`` must be a FakeClock: it is walked through the
    history and finally set to ``real_clock.now()``."""
    clock = ports.clock
    if not isinstance(clock, FakeClock):
        raise TypeError("seeding walks a FakeClock through history")
    if days < 0:
        raise ValidationError("--days must be 0 or more.")
    now = real_clock.now()
    history_start = now - timedelta(days=days)
    clock.set(history_start - timedelta(days=1))
    demo = demo_facility(
        residents_per_unit=residents_per_unit, orders_start=history_start - timedelta(days=1)
    )
    reference = ReferenceService(ports)
    facility = ports.reader().facility()
    if facility is None:  # a stand-alone store; an enrolled one has the server's facility
        facility = demo.facility.model_copy(update={"facility_id": facility_id})
        reference.configure_facility(facility)
    staff = demo_staff(tuple(u.unit_id for u in demo.units))
    admin = next(s for s in staff if s.user.username == "admin")
    reference.bootstrap_admin(admin.user)
    admin_principal = Principal(user=admin.user, device_id=device_id)
    for unit in demo.units:
        reference.create_unit(admin_principal, unit.name, unit.unit_id)
    for member in staff:
        if member is not admin:
            create_user(admin_principal, member)
        if set_credentials is not None:
            set_credentials(member)
    for resident in demo.residents:
        reference.admit_resident(admin_principal, resident)
    for order in demo.orders:  # the demo's allergy conflicts were checked with the prescriber
        reference.create_order(admin_principal, order, allergy_acknowledged=True)
    # A second licensed person (the demo's nurse) verifies what the admin entered.
    nurse = next(s for s in staff if s.user.username == "nurse")
    verifier = Principal(user=nurse.user, device_id=device_id)
    queue = ports.reader().pending_verifications()
    VerificationService(ports).verify_many(verifier, [p.target_entry_id for p in queue])
    if progress is not None:
        progress(0.05, "Facility, staff, residents and orders created")
    read = ports.reader()
    states = read.orders([r.resident_id for r in demo.residents])
    simulator = HistorySimulator(
        RecordingService(ports), clock, facility, staff, device_id, ledger=ports.ledger
    )

    def history_progress(fraction: float, text: str) -> None:
        if progress is not None:
            progress(0.05 + 0.95 * fraction, text)

    stats = simulator.run(states, demo.residents, history_start, now, history_progress)
    clock.set(max(now, clock.now()))
    return SeedResult(demo=demo, staff=staff, history=stats)
