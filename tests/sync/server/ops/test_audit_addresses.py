"""The server's audit records the client address of enrolment, sign-in, push, pull, credential
changes, revocation and retirement — the tablet's address as a trusted proxy names it, the
TCP peer otherwise, ``cli:<user>`` from the command line — on SQLite and PostgreSQL, and
``mar-server audit`` exports it. The rows are append-only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from mar_desktop.errors import StorageError
from sync.server import audit as server_audit
from sync.server import config
from sync.server.app import create_app
from sync.server.cli import main
from sync.server.core import ServerCore
from sync.server.runner import ThreadServer, start_thread_server
from sync.server.simtablet import SimTablet
from tests.sync.server.records import account_json, signed_admin

TABLET = "203.0.113.7"


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[tuple[ServerCore, ThreadServer]]:
    store = config.open_store(store_url)
    store.migrate()
    core = ServerCore(store, config.create_server_key(tmp_path / "data"))
    server = start_thread_server(
        create_app(core, behind_proxy=True), ssl_context=None, trusted_proxies=("127.0.0.1/32",)
    )
    yield core, server
    server.stop()
    store.close()


def _tablet(server: ThreadServer, address: str) -> SimTablet:
    http = httpx.Client(base_url=server.url, headers={"X-Forwarded-For": address}, timeout=30)
    return SimTablet(http)


def test_every_audited_action_records_the_tablets_address(
    served: tuple[ServerCore, ThreadServer], store_url: str, tmp_path: Path
) -> None:
    core, server = served
    facility_id, _ = core.create_facility("Maple House", "UTC")
    tab = _tablet(server, TABLET)
    try:
        assert tab.http.post("/v1/enroll", json={"code": "WRONG-CODE", "public_key": "0" * 64})
        tab.enroll(core.make_enrol_code(facility_id), "cart 3")
        bad = {"device_id": tab.device_id, "nonce": "x" * 16, "signature": "0" * 128}
        assert tab.http.post("/v1/auth/token", json=bad).status_code == 401
        tab.authenticate()
        assert tab.push(tab.make(3) + tab.make(1, "audit.login")).status_code == 200
        assert tab.get("/v1/feed").status_code == 200
        assert tab.get("/v1/audit/feed").status_code == 200
        admin = signed_admin(SimpleNamespace(core=core, store=core.store,
                                             facility_id=facility_id))
        put = tab.http.put(  # an account the facility admin made, as their tablet sends it
            "/v1/credentials/u-1",
            json={"version": 1, "record": account_json(admin, "u-1")},
            headers=tab.auth,
        )
        assert put.status_code == 200
        assert tab.get("/v1/credentials").status_code == 200
        empty = tab.get("/v1/feed", after=10_000)  # an idle poll: not audited
        assert empty.status_code == 200 and empty.json()["items"] == []

        core.revoke(tab.device_id, "retire", address=server_audit.cli_address())
        refused = tab.get("/v1/feed")
        assert refused.status_code == 403 and "revocation" in refused.json()
        heads = {"ledger": tab.heads["ledger"][0], "audit": tab.heads["audit"][0]}
        assert tab.http.post("/v1/retire", json=heads, headers=tab.auth).status_code == 200
        assert tab.get("/v1/cursor").status_code == 403
    finally:
        tab.http.close()

    rows = core.store.audit_rows(None, None, None, 1000)
    by_action = {r.action: r for r in rows}
    for action in (
        server_audit.ENROL_REFUSED,
        server_audit.ENROLLED,
        server_audit.SIGN_IN_REFUSED,
        server_audit.SIGNED_IN,
        server_audit.PUSHED,
        server_audit.PULLED,
        server_audit.AUDIT_PULLED,
        server_audit.CREDENTIAL_STORED,
        server_audit.CREDENTIALS_PULLED,
        server_audit.REVOKED_CONTACT,
        server_audit.RETIRED,
    ):
        assert by_action[action].address == TABLET, action
    assert by_action[server_audit.REVOKED].address.startswith("cli:")  # type: ignore[union-attr]
    assert by_action[server_audit.PUSHED].device_id == tab.device_id
    assert "stored 4" in by_action[server_audit.PUSHED].detail
    assert by_action[server_audit.ENROL_REFUSED].facility_id is None
    assert sum(r.action == server_audit.PULLED for r in rows) == 1  # the empty page: no row

    out = tmp_path / "audit.csv"
    argv = ["--data", str(tmp_path / "data"), "--db", store_url, "audit"]
    assert main([*argv, "--facility", facility_id, "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o077 == 0
    exported = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["action"] for r in exported} >= {server_audit.ENROLLED, server_audit.RETIRED}
    assert all(r["address"] == TABLET for r in exported if r["action"] == "pushed")
    assert all(r["facility_id"] == facility_id for r in exported)

    with pytest.raises(StorageError), core.store.write() as txn:  # append-only
        txn._exec("UPDATE server_audit SET address = '10.0.0.1'")  # type: ignore[attr-defined]
    with pytest.raises(StorageError), core.store.write() as txn:
        txn._exec("DELETE FROM server_audit")  # type: ignore[attr-defined]


def test_without_a_trusted_proxy_the_peer_is_recorded(store_url: str, tmp_path: Path) -> None:
    store = config.open_store(store_url)
    store.migrate()
    core = ServerCore(store, config.create_server_key(tmp_path / "data"))
    server = start_thread_server(create_app(core), ssl_context=None)
    tab = _tablet(server, TABLET)  # claims another address; nobody trusts it
    try:
        facility_id, _ = core.create_facility("Maple House", "UTC")
        tab.enroll(core.make_enrol_code(facility_id))
        [row] = core.store.audit_rows(facility_id, None, None, 10)
        assert row.action == server_audit.ENROLLED and row.address == "127.0.0.1"
    finally:
        tab.http.close()
        server.stop()
        store.close()


def test_a_formula_in_a_label_is_exported_as_text() -> None:
    row = server_audit.AuditRow("t", "f", "d", "enrolled", "=cmd()", "=HYPERLINK(1)")
    line = server_audit.to_csv([row]).splitlines()[1]
    assert "'=cmd()" in line and "'=HYPERLINK(1)" in line
