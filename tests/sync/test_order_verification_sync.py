"""Order verification across tablets and the server, over real TLS 1.3: an urgent dose on an
unverified order and a dose on a returned order are alerted on every tablet after sync; the
normal on-time pass with verified orders raises nothing; an older tablet keeps the new kinds
unapplied and never sees an unverified order as givable; the server's upgrade marks the
orders in use verified in ONE signed entry that a new tablet pulls."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.demo.history import scan_string
from mar_desktop.envelope import EntryDraft, new_id
from mar_desktop.kinds import Body, WitnessAttestation
from mar_desktop.model import Order, Outcome
from mar_desktop.services.recording import AdministrationRequest
from mar_desktop.services.reference import ReferenceService
from mar_desktop.services.verification import VerificationService
from mar_desktop.views import OrderStatus, VerificationStatus
from sync.server.app import alert_infos
from sync.server.upgrade_orders import mark_existing_orders
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import Cart, cart, next_slot, plain_orders, seed, two_carts


def _alert_types(c: Cart) -> list[str]:
    return sorted(a.alert_type for a in c.tab.store.reader().alerts())


def _new_order(c: Cart, base: Order, seeded: object, **changes: object) -> Order:
    order = base.model_copy(
        update={"order_id": new_id(), "start": c.clock.now() - timedelta(hours=1), **changes}
    )
    ReferenceService(c.ports).create_order(
        c.principal(seeded, "admin"), order, allergy_acknowledged=True  # type: ignore[arg-type]
    )
    return order


def test_urgent_and_returned_order_doses_are_alerted_on_every_tablet(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        a = cart(site, "cart-a")
        seeded = seed(a)
        [(resident, base)] = plain_orders(seeded, 1)
        order = _new_order(a, base, seeded)
        a.tab.engine.sync_once()
        b = cart(site, "cart-b")
        b.tab.engine.sync_once()
        state = b.tab.store.reader().order(order.order_id)
        assert state is not None and state.awaiting_verification  # on the other tablet too

        slot = next_slot(b, order)
        for c in (a, b):
            c.clock.set(slot + timedelta(minutes=2))  # type: ignore[operator]
        second = b.principal(seeded, "nurse2").user
        request = AdministrationRequest(
            resident_id=resident.resident_id, order_id=order.order_id, outcome=Outcome.GIVEN,
            scheduled_for=slot,  # type: ignore[arg-type]
            wristband_scan=resident.wristband_id, medication_scan=scan_string(order),
            allergy_acknowledged=True, urgent_reason="resident in pain; pharmacy closed",
            urgent_second_person=WitnessAttestation(
                user_id=second.user_id, full_name=second.full_name, role="nurse",
                authenticated_at=b.clock.now(),
            ),
        )
        dose = b.recording.record_administration(b.principal(seeded, "nurse"), request)
        b.tab.engine.sync_once()
        a.tab.engine.sync_once()
        for c in (a, b):
            c.tab.engine.sync_once()
            assert _alert_types(c) == ["urgent_unverified_dose"]
            record = c.tab.store.reader().administration(dose.id)
            assert record is not None and record.urgent  # flagged on the record everywhere

        # A's pharmacist-role nurse returns the order: the dose given on it is alerted.
        verifier = VerificationService(a.ports)
        [item] = verifier.pending(a.principal(seeded, "nurse2"))
        verifier.return_order(a.principal(seeded, "nurse2"), item.target_entry_id, "wrong drug")
        a.tab.engine.sync_once()
        for c in (b, a):
            c.tab.engine.sync_once()
            assert _alert_types(c) == ["returned_order_dose", "urgent_unverified_dose"]
        server = sorted(x.alert_type for x in alert_infos(site.core, site.facility_id))
        assert server == ["returned_order_dose", "urgent_unverified_dose"]
    finally:
        stop_site(site)


def test_the_normal_on_time_pass_with_verified_orders_raises_nothing(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        a, b, seeded = two_carts(site)
        for resident, order in plain_orders(seeded, 4):
            slot = next_slot(a, order)
            a.clock.set(slot)  # type: ignore[arg-type]
            a.give(seeded, order, resident, slot)
        reports = [a.tab.engine.sync_once(), b.tab.engine.sync_once(), a.tab.engine.sync_once()]
        assert all(r.quarantined == 0 and r.newer == 0 and not r.held_back for r in reports)
        assert alert_infos(site.core, site.facility_id) == []
        assert _alert_types(a) == [] and _alert_types(b) == []
        assert b.tab.store.reader().pending_verifications() == []
    finally:
        stop_site(site)


# ---- an older tablet: the kinds and body versions of the release before verification --------
class OldOrderCreated(Body):
    order: Order


class OldOrderChanged(Body):
    replaces_order_id: str
    order: Order
    reason: str
    effective_at: object


class OldAlertRaised(Body):
    alert_id: str
    alert_type: Literal[
        "double_dose", "discontinued_order_dose", "prn_interval", "prn_daily_max",
        "clock_skew", "fork",
    ]
    resident_id: str | None = None
    order_id: str | None = None
    related_entry_ids: tuple[str, ...] = ()
    device_id: str | None = None
    detail: str = ""


def _as_older_version(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in (
        kinds.ORDER_VERIFIED, kinds.ORDER_RETURNED, kinds.ORDERS_VERIFIED_AT_UPGRADE,
        kinds.VERIFICATION_SETTING_CHANGED, kinds.URGENT_DOSE_RECORDED,
    ):
        monkeypatch.delitem(kinds.BODY_TYPES, kind)
    monkeypatch.setitem(kinds.BODY_TYPES, kinds.ORDER_CREATED, OldOrderCreated)
    monkeypatch.setitem(kinds.BODY_TYPES, kinds.ORDER_CHANGED, OldOrderChanged)
    monkeypatch.setitem(kinds.BODY_TYPES, kinds.ALERT_RAISED, OldAlertRaised)


def test_an_older_tablet_keeps_the_new_kinds_unapplied_and_never_gives_an_unverified_order(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        newer = cart(site, "newer")
        seeded = seed(newer)
        newer.tab.engine.sync_once()
        older = cart(site, "older", snapshots=False)  # a release before snapshots, too
        with monkeypatch.context() as old:
            _as_older_version(old)
            first = older.tab.engine.sync_once()
        assert first.quarantined == 0 and first.newer > 0  # kept, chain-verified, reported
        # The older tablet never sees the orders written by the newer version: it cannot
        # tell verified from unverified, so it shows none of them (the most restrictive).
        [(_, base)] = plain_orders(seeded, 1)
        assert older.tab.store.reader().order(base.order_id) is None

        # An increase on the newer tablet waits; once verified, the previous version's v1
        # discontinuation reaches the older tablet too.
        ref = ReferenceService(newer.ports)
        higher = base.model_copy(update={"order_id": new_id(), "dose": base.dose * 2})
        ref.change_order(newer.principal(seeded, "admin"), base.order_id, higher, "dose up")
        verifier = VerificationService(newer.ports)
        [item] = verifier.pending(newer.principal(seeded, "nurse"))
        verifier.verify(newer.principal(seeded, "nurse"), item.target_entry_id)
        newer.tab.engine.sync_once()
        with monkeypatch.context() as old:
            _as_older_version(old)
            report = older.tab.engine.sync_once()
        assert report.quarantined == 0 and report.newer > 0
        conn = older.tab.store.connect_reader()  # the v1 discontinuation was applied
        try:
            rows = conn.execute(
                "SELECT event FROM order_events WHERE order_id = ?", (base.order_id,)
            ).fetchall()
        finally:
            conn.close()
        assert ("discontinued",) in rows
    finally:
        stop_site(site)


# ---- the upgrade ---------------------------------------------------------------------------
def test_the_upgrade_marks_the_orders_in_use_verified_in_one_server_entry(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA,
) -> None:
    # ``create_facility`` writes no upgrade entry: ``mar-server serve`` does, at its start.
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        old = cart(site, "old")
        seeded = seed(old)
        admin = old.principal(seeded, "admin")
        # What the facility's tablets recorded before the upgrade: v1 order bodies.
        legacy = [o.model_copy(update={"order_id": new_id()}) for _, o in plain_orders(seeded, 3)]
        stopped = legacy[2]
        old.tab.store.ledger.append(
            [EntryDraft(kinds.ORDER_CREATED, admin.actor, {"v": 1, "order": o.model_dump(
                mode="json")}) for o in legacy]
            + [EntryDraft(kinds.ORDER_DISCONTINUED, admin.actor, kinds.body_json(
                kinds.OrderStatusChanged(order_id=stopped.order_id, reason="stopped",
                                         effective_at=old.clock.now())))]
        )
        old.tab.engine.sync_once()

        # The server is upgraded: at start it writes the one entry, and only once.
        assert mark_existing_orders(site.core) == 1
        assert mark_existing_orders(site.core) == 0
        server_device = site.core.store.server_device(site.facility_id)
        assert server_device is not None
        [upgrade] = site.core.store.entries_of_kind(
            site.facility_id, server_device.device_id, kinds.ORDERS_VERIFIED_AT_UPGRADE
        )
        named = kinds.parse_body(kinds.ORDERS_VERIFIED_AT_UPGRADE, json.loads(upgrade.raw)["body"])
        assert isinstance(named, kinds.OrdersVerifiedAtUpgrade)
        assert set(named.order_ids) == {legacy[0].order_id, legacy[1].order_id}

        # A new tablet never sees them unverified; an order an older tablet records after the
        # upgrade (a v1 body) awaits verification (the most restrictive reading).
        late = legacy[0].model_copy(update={"order_id": new_id()})
        old.tab.store.ledger.append([EntryDraft(
            kinds.ORDER_CREATED, admin.actor, {"v": 1, "order": late.model_dump(mode="json")}
        )])
        old.tab.engine.sync_once()
        new = cart(site, "new")
        new.tab.engine.sync_once()
        read = new.tab.store.reader()
        for order in legacy[:2]:
            state = read.order(order.order_id)
            assert state is not None and state.verification == VerificationStatus.VERIFIED
        stopped_state = read.order(stopped.order_id)
        assert stopped_state is not None and stopped_state.status == OrderStatus.DISCONTINUED
        late_state = read.order(late.order_id)
        assert late_state is not None and late_state.awaiting_verification
        old.tab.engine.sync_once()  # the upgraded old tablet agrees once it has pulled it
        state = old.tab.store.reader().order(legacy[0].order_id)
        assert state is not None and state.verification == VerificationStatus.VERIFIED
    finally:
        stop_site(site)
