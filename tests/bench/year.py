"""A year of facility history for the benchmarks, built once and cached.

Two units of 60 residents on the demo regimens, 365 days of scheduled doses (given, refused,
held, the odd miss) with their audit entries: about 650,000 entries. Built through a bulk path
(the same entry bodies the recording service writes, appended in large batches) because
recording a year one durable commit at a time would take hours; the resulting database is the
same shape. Cached under ``.bench-cache/`` with its key; delete the folder to rebuild.
"""

from __future__ import annotations

import json
import random
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mar_desktop import audit, kinds
from mar_desktop.clinical.schedule import expand_schedule
from mar_desktop.clock import FakeClock
from mar_desktop.envelope import EntryDraft, new_id
from mar_desktop.kinds import ScanRecord
from mar_desktop.model import Outcome
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.signing import DeviceSigner
from storage.local_store import LocalStore
from tests.facility import append_user

CACHE = Path(".bench-cache")
VERSION = 3  # 2: the facility is configured by a server device, as in the field; 3: the
# staff have their units (an account with no unit sees none), signed accounts, verified orders
END = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)  # "now" of the benchmarks (12:00 Chicago)
DAYS = 365
BATCH = 4000


@dataclass(frozen=True)
class YearDb:
    data_dir: Path
    key: bytes
    unit_id: str
    now: datetime
    server_key: bytes
    """The seed of the server device that configured the facility (its entry is seq 1 of that
    device's chain in the ledger: a server taking the year in stores it as its own)."""
    server_device_id: str

    def open(self, clock: FakeClock | None = None) -> LocalStore:
        return LocalStore.open(self.data_dir, self.key, clock or FakeClock(self.now))


def year_db(residents_per_unit: int = 60, days: int = DAYS) -> YearDb:
    folder = CACHE / f"year-v{VERSION}-{residents_per_unit}-{days}"
    meta = folder / "meta.json"
    if not meta.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key, server = secrets.token_bytes(32), DeviceSigner.generate()
        server_device_id = new_id()
        unit_id = _build(folder / "data", key, residents_per_unit, days, server, server_device_id)
        meta.write_text(json.dumps({
            "key": key.hex(), "unit_id": unit_id, "server_key": server.private_bytes().hex(),
            "server_device_id": server_device_id,
        }))
    info = json.loads(meta.read_text())
    return YearDb(
        folder / "data", bytes.fromhex(info["key"]), info["unit_id"], END,
        bytes.fromhex(info["server_key"]), info["server_device_id"],
    )


def _configured_by_server(
    store: LocalStore, server: DeviceSigner, server_device_id: str, at: datetime
) -> None:
    """The demo facility configured by a server device, as ``mar-server init`` does: the
    server's signed ``facility.configured`` entry, ingested like a pulled one."""
    from mar_desktop.demo.facility import demo_facility
    from mar_desktop.envelope import GENESIS, SYSTEM_ACTOR, seal
    from storage.sync_state import SyncState

    facility = demo_facility().facility.model_copy(update={"facility_id": store.facility_id})
    body = kinds.body_json(kinds.FacilityConfigured(facility=facility))
    entry = seal(
        EntryDraft(kinds.FACILITY_CONFIGURED, SYSTEM_ACTOR, body),
        facility_id=store.facility_id, device_id=server_device_id, seq=1, prev=GENESIS,
        recorded_at=at, signer=server,
    )
    state = SyncState(store.connect_reader)
    try:
        state.register_keys([(server_device_id, server.public_hex, "mar-server")])
    finally:
        state.close()
    store.ledger.ingest([entry])


def _build(
    data_dir: Path,
    key: bytes,
    residents_per_unit: int,
    days: int,
    server: DeviceSigner,
    server_device_id: str,
) -> str:
    from mar_desktop.demo.seed import seed_demo

    started = time.perf_counter()
    clock = FakeClock(END - timedelta(days=days + 1))
    store = LocalStore.create(data_dir, key, new_id(), clock)
    _configured_by_server(store, server, server_device_id, clock.now())
    ports = Ports(store.ledger, store.reader, clock)
    seeded = seed_demo(
        ports, device_id=store.device_id, facility_id=store.facility_id,
        create_user=lambda p, m: append_user(ports, p, m), days=0,
        residents_per_unit=residents_per_unit, real_clock=FakeClock(END - timedelta(days=days)),
    )
    read = store.reader()
    facility = read.facility()
    assert facility is not None
    residents = {r.resident_id: r for r in read.residents()}
    states = [s for s in read.orders(list(residents)) if not s.order.is_prn]
    nurse = next(s for s in seeded.staff if s.user.username == "nurse")
    witness_user = next(s for s in seeded.staff if s.user.username == "nurse2").user
    principal = Principal(user=nurse.user, device_id=store.device_id)
    rng = random.Random(3)
    start = END - timedelta(days=days)
    pending: list[EntryDraft] = []
    total = 0
    day = start
    while day < END:
        day_end = min(day + timedelta(days=1), END)
        for state in states:
            order = state.order
            for slot in expand_schedule(state, day, day_end, facility.zone):
                if slot > END - timedelta(hours=3) or rng.random() < 0.01:
                    continue  # leave today's recent doses due, and a few missed
                resident = residents[order.resident_id]
                roll = rng.random()
                outcome = Outcome.GIVEN if roll > 0.05 else Outcome.REFUSED
                at = slot + timedelta(minutes=rng.uniform(-20, 20))
                body = kinds.AdministrationRecorded(
                    resident_id=resident.resident_id, order_id=order.order_id,
                    scheduled_for=slot, administered_at=at, outcome=outcome,
                    reason_code=None if outcome == Outcome.GIVEN else "R",
                    dose_given=order.dose if outcome == Outcome.GIVEN else None,
                    dose_unit=order.dose_unit, route=order.route,
                    site="left abdomen" if order.site_required else "",
                    vitals=kinds.Vitals.model_validate(
                        {h.vital: "140" if h.vital == "glucose" else "120"
                         for h in order.hold_parameters}),
                    witness=kinds.WitnessAttestation(
                        user_id=witness_user.user_id, full_name=witness_user.full_name,
                        role=witness_user.role.value, authenticated_at=at,
                    ) if order.needs_witness else None,
                    scan=ScanRecord(wristband_scanned=True, medication_scanned=True,
                                    gtin=order.gtins[0], lot="L2417A", expiry="2028-12-31"),
                )
                pending.append(EntryDraft(kinds.ADMINISTRATION_RECORDED, principal.actor,
                                          kinds.body_json(body)))
                pending.append(audit.audit_for(
                    principal, audit.RECORD_CREATED, entity_type="resident",
                    entity_id=resident.resident_id,
                    detail=f"administration {outcome.value}, order {order.order_id}"))
        if len(pending) >= BATCH or day_end >= END:
            clock.set(day_end)
            store.ledger.append(pending)
            total += len(pending)
            pending = []
            print(f"\r  building year: {total:,} entries "
                  f"({time.perf_counter() - started:.0f} s)", end="", file=sys.stderr)
        day = day_end
    print(file=sys.stderr)
    unit_id = seeded.demo.units[0].unit_id
    store.close()
    return unit_id
