"""Several server processes on one database: challenges, tokens and alerts live in the store.

Two apps, each with its own store connection pool, authenticator and reconciler (what two
``mar-server serve`` processes have), share one database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mar_desktop import kinds
from mar_desktop.clock import FakeClock
from mar_desktop.envelope import parse_raw
from sync.server import config, migrations
from sync.server.app import create_app
from sync.server.auth import Authenticator
from sync.server.core import ServerCore
from sync.server.reconciliation import Reconciler, alert_subject
from sync.server.simtablet import SimTablet, administration_body
from sync.server.store import Store


@dataclass
class Pair:
    cores: list[ServerCore]
    clients: list[TestClient]
    facility_id: str

    def tablet(self, via: int, label: str) -> SimTablet:
        tab = SimTablet(self.clients[via])
        tab.enroll(self.cores[via].make_enrol_code(self.facility_id), label)
        tab.authenticate()
        return tab

    @property
    def store(self) -> Store:
        return self.cores[0].store


@pytest.fixture
def pair(store_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Pair]:
    data = tmp_path / "data"
    config.create_server_key(data)
    cores: list[ServerCore] = []
    for _ in range(2):
        store = config.open_store(store_url)
        store.migrate()
        cores.append(ServerCore(store, config.load_server_key(data), clock))
    facility_id, _ = cores[0].create_facility("Maple House", "America/Chicago")
    apps = [create_app(c, auth=Authenticator(c.store, clock=clock)) for c in cores]
    with (
        TestClient(apps[0], base_url="https://testserver") as one,
        TestClient(apps[1], base_url="https://testserver") as two,
    ):
        yield Pair(cores, [one, two], facility_id)
    for core in cores:
        core.store.close()


def test_a_token_from_one_process_is_taken_by_the_other(pair: Pair) -> None:
    tab = pair.tablet(0, "cart")
    assert tab.get("/v1/cursor").status_code == 200
    tab.http = pair.clients[1]
    assert tab.get("/v1/cursor").status_code == 200
    assert tab.push([tab.seal()]).status_code == 200


def test_a_challenge_from_one_process_is_answered_at_the_other_once(pair: Pair) -> None:
    tab = pair.tablet(0, "cart")
    nonce = tab.challenge()
    req = {"device_id": tab.device_id, "nonce": nonce, "signature": tab.sign_nonce(nonce)}
    assert pair.clients[1].post("/v1/auth/token", json=req).status_code == 200
    replay = pair.clients[0].post("/v1/auth/token", json=req)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]


def test_a_nonce_is_bound_to_its_device(pair: Pair) -> None:
    a, b = pair.tablet(0, "cart-a"), pair.tablet(0, "cart-b")
    nonce = a.challenge()
    req = {"device_id": b.device_id, "nonce": nonce, "signature": b.sign_nonce(nonce)}
    assert pair.clients[1].post("/v1/auth/token", json=req).status_code == 401


def test_revocation_refuses_the_token_at_once_on_every_process(pair: Pair) -> None:
    tab = pair.tablet(0, "cart")
    pair.cores[1].revoke(tab.device_id)
    for client in pair.clients:
        tab.http = client
        resp = tab.get("/v1/cursor")
        assert resp.status_code == 403
        assert resp.json()["detail"] == "device revoked"


def test_expired_tokens_fail_everywhere_and_are_deleted(pair: Pair, clock: FakeClock) -> None:
    old = pair.tablet(0, "cart-old")
    clock.advance(timedelta(minutes=10, seconds=1))
    for client in pair.clients:
        old.http = client
        assert old.get("/v1/cursor").status_code == 401
    pair.tablet(1, "cart-new")  # storing a new challenge and token deletes expired rows
    with pair.store.write() as txn:
        devices = {r[0] for r in txn._all("SELECT device_id FROM auth_tokens")}  # type: ignore[attr-defined]
        challenges = txn._all("SELECT device_id FROM auth_challenges")  # type: ignore[attr-defined]
    assert old.device_id not in devices
    assert challenges == []  # the new tablet's challenge was taken, the old one's expired


def test_only_digests_of_tokens_and_nonces_are_stored(pair: Pair) -> None:
    tab = pair.tablet(0, "cart")
    nonce = tab.challenge()
    with pair.store.write() as txn:
        tokens = txn._all("SELECT token_hash FROM auth_tokens")  # type: ignore[attr-defined]
        nonces = txn._all("SELECT nonce_hash FROM auth_challenges")  # type: ignore[attr-defined]
    assert [r[0] for r in tokens] == [hashlib.sha256(tab.token.encode()).hexdigest()]
    assert [r[0] for r in nonces] == [hashlib.sha256(nonce.encode()).hexdigest()]


def _wait_rebuilds() -> None:
    deadline = time.monotonic() + 30
    while any(t.name == "mar-reconcile" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the index rebuild did not finish"
        time.sleep(0.01)


def _double_doses(tab: SimTablet) -> list[set[str]]:
    """The entry ids each double-dose alert names, read through the tablet's process."""
    alerts = tab.get("/v1/alerts").json()["alerts"]
    bodies = [parse_raw(a["entry"].encode()).body for a in alerts]
    return [set(b["related_entry_ids"]) for b in bodies if b["alert_type"] == "double_dose"]


def test_two_processes_raise_one_double_dose_alert(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair.tablet(0, "cart-a"), pair.tablet(1, "cart-b")
    assert a.push([a.seal(body=administration_body(1))]).status_code == 200
    assert b.push([b.seal(body=administration_body(2))]).status_code == 200
    _wait_rebuilds()
    for client in pair.clients:  # no reconciliation after the receipts: the test runs it
        live = client.app.state.live_reconciliation  # type: ignore[attr-defined]
        monkeypatch.setattr(live, "run", lambda *_: None)
    body = administration_body(7)
    dose_a, dose_b = a.seal(body=body), b.seal(body=body)
    assert a.push([dose_a]).status_code == 200
    assert b.push([dose_b]).status_code == 200
    # each process reconciles the feed with its own index, at the same moment, and finds the
    # same double dose
    reconcilers: list[Reconciler] = [c.app.state.reconciler for c in pair.clients]  # type: ignore[attr-defined]
    start = threading.Barrier(len(reconcilers))

    def catch_up(reconciler: Reconciler) -> None:
        start.wait(10)
        reconciler.catch_up_waiting(pair.facility_id)

    threads = [threading.Thread(target=catch_up, args=(r,)) for r in reconcilers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for tab in (a, b):
        for client in pair.clients:
            tab.http = client
            assert _double_doses(tab) == [{dose_a.id, dose_b.id}]
    with pair.store.write() as txn:
        keys = txn._all("SELECT alert_type FROM alert_keys")  # type: ignore[attr-defined]
    assert [k[0] for k in keys].count("double_dose") == 1


def test_a_read_through_one_process_waits_for_alerts_of_a_push_through_the_other(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair.tablet(0, "cart-a"), pair.tablet(0, "cart-b")
    assert a.push([a.seal()]).status_code == 200
    a.http = pair.clients[1]
    assert a.get("/v1/alerts").status_code == 200  # process 2 builds its index too
    _wait_rebuilds()
    body = administration_body(3)
    dose_a, dose_b = a.seal(body=body), b.seal(body=body)
    a.http = b.http = pair.clients[0]
    live = pair.clients[0].app.state.live_reconciliation  # type: ignore[attr-defined]
    monkeypatch.setattr(live, "run", lambda *_: None)  # process 1 is slow to reconcile
    assert a.push([dose_a]).status_code == 200
    assert b.push([dose_b]).status_code == 200
    a.http = pair.clients[1]  # process 2 never saw these pushes
    assert _double_doses(a) == [{dose_a.id, dose_b.id}]


def test_claiming_an_alert_is_unique_per_kind_and_subject(pair: Pair) -> None:
    alert = kinds.AlertRaised(
        alert_id="x", alert_type="double_dose", detail="d", related_entry_ids=["e2", "e1"]
    )
    same = alert.model_copy(update={"alert_id": "y", "related_entry_ids": ["e1", "e2"]})
    assert alert_subject(alert) == alert_subject(same)
    claims = []
    for _ in range(2):
        with pair.store.write() as txn:
            txn.lock_facility(pair.facility_id)
            claims.append(
                txn.claim_alert(pair.facility_id, "double_dose", alert_subject(alert), "now")
            )
    assert claims == [True, False]


def test_the_shared_state_migration_is_numbered_after_the_last_of_each_dialect() -> None:
    for steps in (migrations.SQLITE, migrations.POSTGRES):
        numbers = [n for n, _ in steps]
        assert numbers == list(range(1, len(numbers) + 1))
        shared = [
            n for n, sql in steps
            if all(f"CREATE TABLE {t}" in sql for t in migrations.SHARED_STATE_TABLES)
        ]
        assert len(shared) == 1
        # after every migration that existed before it (SQLite 1; PostgreSQL 1-2)
        assert shared[0] == (2 if steps is migrations.SQLITE else 3)


def test_an_existing_database_is_upgraded_to_the_shared_state_tables(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    postgres = store_url.startswith("postgresql")
    dialect = "POSTGRES" if postgres else "SQLITE"
    newest = getattr(migrations, dialect)
    with monkeypatch.context() as older:  # a database made by the previous release
        older.setattr(migrations, dialect, newest[:-1])
        store = config.open_store(store_url)
        assert store.migrate() == len(newest) - 1
    try:
        core = ServerCore(store, config.create_server_key(tmp_path / "data"), clock)
        facility_id, _ = core.create_facility("Maple House", "UTC")
        assert store.migrate() == len(newest)
        with TestClient(create_app(core), base_url="https://testserver") as client:
            tab = SimTablet(client)
            tab.enroll(core.make_enrol_code(facility_id), "cart")
            tab.authenticate()
            assert tab.get("/v1/cursor").status_code == 200
    finally:
        store.close()
