"""Seeded tablets for sync tests: enrolled with a real server, seeded through the services."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from mar_desktop.clinical.schedule import expand_schedule
from mar_desktop.clock import FakeClock
from mar_desktop.demo.history import scan_string
from mar_desktop.demo.seed import SeedResult, seed_demo
from mar_desktop.envelope import Entry
from mar_desktop.model import Order, Outcome, Resident
from mar_desktop.people.auth import AuthService
from mar_desktop.people.totp import code_at
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.recording import AdministrationRequest, RecordingService
from storage.verify import verify_store
from sync.server.verify import verify_store as server_verify
from tests.facility import NOW, append_user
from tests.sync.conftest import Site, Tablet


@dataclass
class Cart:
    """A tablet with its clock and services."""

    tab: Tablet
    clock: FakeClock

    @property
    def ports(self) -> Ports:
        return Ports(self.tab.store.ledger, self.tab.store.reader, self.clock)

    @property
    def recording(self) -> RecordingService:
        return RecordingService(self.ports)

    def principal(self, seeded: SeedResult, username: str) -> Principal:
        staff = next(s for s in seeded.staff if s.user.username == username)
        return Principal(user=staff.user, device_id=self.tab.store.device_id)

    def give(self, seeded: SeedResult, order: Order, resident: Resident, slot: object) -> Entry:
        req = AdministrationRequest(
            resident_id=resident.resident_id,
            order_id=order.order_id,
            outcome=Outcome.GIVEN,
            scheduled_for=slot,  # type: ignore[arg-type]
            wristband_scan=resident.wristband_id,
            medication_scan=scan_string(order),
            allergy_acknowledged=True,
        )
        return self.recording.record_administration(self.principal(seeded, "nurse"), req)


def cart(site: Site, name: str, **kw: object) -> Cart:
    clock = FakeClock(NOW)
    return Cart(site.tablet(name, clock=clock, **kw), clock)  # type: ignore[arg-type]


def seed(c: Cart, residents_per_unit: int = 2) -> SeedResult:
    """Seeds the demo facility through the services on an enrolled tablet: it syncs first, so
    the facility is the server's (a tablet may not record ``facility.configured``)."""
    c.tab.engine.sync_once()
    ports = c.ports
    store = c.tab.store
    return seed_demo(
        ports,
        device_id=store.device_id,
        facility_id=store.facility_id,
        create_user=lambda p, m: append_user(ports, p, m),
        days=0,
        residents_per_unit=residents_per_unit,
        real_clock=FakeClock(NOW),
    )


def two_carts(site: Site) -> tuple[Cart, Cart, SeedResult]:
    """Cart A seeds the demo facility and syncs; cart B enrols and pulls it: the two carts of a
    unit's med pass, both holding the same facility."""
    a = cart(site, "cart-a")
    seeded = seed(a)
    a.tab.engine.sync_once()
    b = cart(site, "cart-b")
    b.tab.engine.sync_once()
    return a, b, seeded


def signed_in_admin(site: Site, c: Cart, auth: AuthService, username: str = "chief") -> Principal:
    """The facility's first admin as ``mar-server init`` makes it, signed in on ``c`` for the
    first time (new password, authenticator): the session holds the admin's own key, which
    signs account changes (``auth.sessions.user_key``)."""
    first = site.core.create_first_admin(site.facility_id, username, "Chris Admin")
    c.tab.engine.sync_once()
    challenge = auth.begin_login(username, first.temporary_password)
    challenge = auth.set_new_password(challenge, ADMIN_PASSWORD)
    secret = auth.begin_enrolment(challenge).secret
    done = auth.confirm_enrolment(challenge, code_at(secret, c.clock.now()))
    return done.session.principal


ADMIN_PASSWORD = "copper lantern over the quiet harbour"


def scheduled(seeded: SeedResult) -> tuple[Resident, Order]:
    for order in seeded.demo.orders:
        if not order.is_prn and order.controlled_schedule is None and not order.hold_parameters:
            if order.site_required:
                continue
            resident = next(r for r in seeded.demo.residents if r.resident_id == order.resident_id)
            return resident, order
    raise LookupError("no plain scheduled order")


def plain_orders(seeded: SeedResult, n: int | None = None) -> list[tuple[Resident, Order]]:
    """``n`` (default: all) scheduled orders with no witness, hold parameters or site, with their
    residents."""
    out = []
    for order in seeded.demo.orders:
        if order.is_prn or order.controlled_schedule or order.hold_parameters:
            continue
        if order.site_required:
            continue
        resident = next(r for r in seeded.demo.residents if r.resident_id == order.resident_id)
        out.append((resident, order))
    assert n is None or len(out) >= n
    return out if n is None else out[:n]


def next_slot(c: Cart, order: Order) -> object:
    read = c.tab.store.reader()
    state = read.order(order.order_id)
    facility = read.facility()
    assert state is not None and facility is not None
    now = c.clock.now()
    return expand_schedule(state, now, now + timedelta(days=2), facility.zone)[0]


def ledger_rows(tab: Tablet, table: str = "ledger") -> list[tuple[str, int, str]]:
    conn = tab.store.connect_reader()
    try:
        rows = conn.execute(f"SELECT device_id, seq, digest FROM {table}").fetchall()
    finally:
        conn.close()
    return sorted((str(r[0]), int(r[1]), str(r[2])) for r in rows)


def server_rows(site: Site, chain: str = "ledger") -> list[tuple[str, int, str]]:
    out = []
    after = 0
    while True:
        page = site.core.store.feed(site.facility_id, chain, after, 1000)  # type: ignore[arg-type]
        out.extend((e.device_id, e.seq, e.digest) for e in page)
        if len(page) < 1000:
            break
        after = page[-1].pos
    return sorted(out)


def own_rows(site: Site, device_id: str, chain: str) -> list[tuple[str, int, str]]:
    return [
        (e.device_id, e.seq, e.digest)
        for e in site.core.store.entries_of(device_id, chain)  # type: ignore[arg-type]
    ]


def assert_verified(site: Site, tabs: Iterable[Tablet]) -> None:
    for tab in tabs:
        conn = tab.store.connect_reader()
        try:
            report = verify_store(conn, workers=1)
        finally:
            conn.close()
        assert report.ok, report.summary()
    server = server_verify(site.core.store, workers=1)
    assert server.ok, server.summary()
