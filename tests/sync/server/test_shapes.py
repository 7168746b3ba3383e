"""Hostile shapes are refused with a 4xx, store nothing and leave the facility's other devices
working; credential rows stored with a bad shape before the shapes were closed do not break the
credential feed. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from mar_desktop import kinds
from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft, seal
from mar_desktop.model import Facility
from mar_desktop.signing import DeviceSigner
from sync.server.simtablet import SimTablet, audit_body
from sync.server.store import CredentialRow
from tests.sync.server.conftest import Server
from tests.sync.server.records import HASH, account_json, record_json, signed_admin

BIG = 2**63


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def put(tab: SimTablet, user_id: str, body: object) -> Any:
    return tab.http.put(f"/v1/credentials/{user_id}", json=body, headers=tab.auth)


def stored_credentials(server: Server) -> list[CredentialRow]:
    return server.store.credentials(server.facility_id, 0, 1000)


def assert_others_unaffected(server: Server, stored: int = 0) -> None:
    """Another device of the facility still reads the credential feed and syncs."""
    other = server.tablet(label="other cart")
    page = other.get("/v1/credentials")
    assert page.status_code == 200
    assert len(page.json()["items"]) == stored
    assert other.push(other.make(2)).status_code == 200
    assert other.get("/v1/feed").status_code == 200
    assert other.get("/v1/cursor").json()["ledger"]["seq"] == 2


def refused(resp: Any, status: int = 422) -> str:
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, str) and detail
    return detail


# ---- credential records -----------------------------------------------------------------------
def test_deeply_nested_record_is_refused_and_stores_nothing(server: Server) -> None:
    tab = server.tablet()
    deep = nested(600)
    assert len(json.dumps(deep)) < 5000  # the 4 KB record of the report
    for record in (
        deep,
        {**record_json("x"), "extra": deep},
        {**record_json("x"), "password_hash": deep},
        {**record_json("x"), "recovery_codes": [deep]},
    ):
        detail = refused(put(tab, "x", {"version": 1, "record": record}))
        assert "record" in detail
    assert stored_credentials(server) == []
    assert_others_unaffected(server)


def test_version_beyond_64_bits_is_refused(server: Server) -> None:
    tab = server.tablet()
    for body in (
        {"version": BIG, "record": record_json("x", 1)},
        {"version": BIG, "record": {**record_json("x", 1), "version": BIG}},
        {"version": 1, "record": {**record_json("x", 1), "last_totp_step": BIG}},
        {"version": 1, "record": {**record_json("x", 1), "last_totp_step": -1}},
        {"version": -(2**70), "record": record_json("x", 1)},
        {"version": 0, "record": record_json("x", 1)},
    ):
        refused(put(tab, "x", body))
    # 2**63 - 1 is the largest version a store can hold: it passes the shapes and is refused
    # as not following the account's version (403), nothing stored, on both stores
    top = 2**63 - 1
    admin = signed_admin(server)
    record = {**account_json(admin, "x"), "version": top}
    refused(put(tab, "x", {"version": top, "record": record}), 403)
    assert [r.user_id for r in stored_credentials(server)] == [admin.head.user_id] * 2
    assert_others_unaffected(server, stored=2)


def test_values_are_not_coerced(server: Server) -> None:
    tab = server.tablet()
    for body in (
        {"version": "1", "record": record_json("x")},
        {"version": 1.0, "record": record_json("x")},
        {"version": True, "record": record_json("x")},
        {"version": 1, "record": {**record_json("x"), "version": "1"}},
        {"version": 1, "record": {**record_json("x"), "must_change_password": "yes"}},
        {"version": 1, "record": {**record_json("x"), "totp_enrolled": 1}},
        {"version": 1, "record": {**record_json("x"), "password_hash": 5}},
        {"version": 1, "record": record_json("x"), "extra": 1},
    ):
        refused(put(tab, "x", body))
    assert stored_credentials(server) == []


def test_record_must_name_the_path_user_and_the_version(server: Server) -> None:
    tab = server.tablet()
    admin = signed_admin(server)
    record = account_json(admin, "x")
    assert "user" in refused(put(tab, "victim", {"version": 1, "record": record}))
    assert "version" in refused(put(tab, "x", {"version": 2, "record": record}))
    assert [r.user_id for r in stored_credentials(server)] == [admin.head.user_id] * 2


def test_an_older_tablets_unsigned_record_is_refused(server: Server) -> None:
    tab = server.tablet()
    assert "record" in refused(put(tab, "x", {"version": 1, "record": record_json("x")}))
    assert stored_credentials(server) == []


def test_nul_and_control_characters_in_credential_ids_are_refused(server: Server) -> None:
    tab = server.tablet()
    for path_id in ("a%00b", "a%0A"):
        detail = refused(put(tab, path_id, {"version": 1, "record": record_json("a")}))
        assert "path.user_id" in detail
    for field in ("user_id", "updated_by", "updated_by_device", "password_hash", "totp_secret"):
        record = {**record_json("a"), field: "a\x00b"}
        refused(put(tab, "a", {"version": 1, "record": record}))
        record = {**record_json("a"), field: "a\nb"}
        refused(put(tab, "a", {"version": 1, "record": record}))
    assert stored_credentials(server) == []
    assert_others_unaffected(server)


def test_oversize_credential_strings_are_refused(server: Server) -> None:
    tab = server.tablet()
    long_id = "u" * 65
    refused(put(tab, long_id, {"version": 1, "record": record_json(long_id[:64])}))
    slot = {"code_hash": "0" * 64, "used_at": None}
    for field, value in (
        ("user_id", long_id),
        ("updated_by", long_id),
        ("password_hash", HASH + "x" * 512),
        ("totp_secret", "A" * 257),
        ("recovery_codes", [slot] * 65),
        ("updated_at", "2026-03-01T08:00:00Z" + "0" * 100_000),
    ):
        refused(put(tab, "u", {"version": 1, "record": {**record_json("u"), field: value}}))
    assert stored_credentials(server) == []
    assert_others_unaffected(server)


# ---- enrolment and authentication ids ---------------------------------------------------------
def test_nul_in_enrolment_label_is_refused_and_the_code_stays_usable(server: Server) -> None:
    code = server.core.make_enrol_code(server.facility_id)
    before = len(server.store.devices(server.facility_id))
    key = DeviceSigner.generate().public_hex
    for label in ("cart\x00two", "cart\ttwo", "c" * 101, 7):
        resp = server.client.post(
            "/v1/enroll", json={"code": code, "public_key": key, "label": label}
        )
        refused(resp)
    for bad_code in ("AAAAA\x00BBBBB", "A" * 65):
        resp = server.client.post("/v1/enroll", json={"code": bad_code, "public_key": key})
        refused(resp)
    assert len(server.store.devices(server.facility_id)) == before
    tab = SimTablet(server.client)
    tab.enroll(code, "Cart 2 — East wing")  # the code was not spent; any printable label works
    assert len(server.store.devices(server.facility_id)) == before + 1
    assert_others_unaffected(server)


def test_nul_and_oversize_device_ids_are_refused_at_challenge_and_token(server: Server) -> None:
    tab = server.tablet()
    for device_id in ("a\x00b", tab.device_id + "\x00", "d" * 65, "", 5):
        refused(server.client.post("/v1/auth/challenge", json={"device_id": device_id}))
        body = {"device_id": device_id, "nonce": "n" * 43, "signature": "0" * 128}
        refused(server.client.post("/v1/auth/token", json=body))
    nonce = tab.challenge()
    for bad_nonce in (nonce + "\x00", "n" * 129):
        body = {
            "device_id": tab.device_id,
            "nonce": bad_nonce,
            "signature": tab.sign_nonce(bad_nonce),
        }
        refused(server.client.post("/v1/auth/token", json=body))
    # the genuine nonce is still unused, the device authenticates with it
    body = {"device_id": tab.device_id, "nonce": nonce, "signature": tab.sign_nonce(nonce)}
    assert server.client.post("/v1/auth/token", json=body).status_code == 200
    assert_others_unaffected(server)


# ---- rows stored before the shapes were closed ------------------------------------------------
def test_badly_shaped_stored_rows_are_left_out_of_the_credential_feed(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "SECRETSECRETSECRET"
    good = json.dumps(record_json("good"), sort_keys=True, separators=(",", ":"))
    rows = [
        ("deep", json.dumps(nested(600))),
        ("loose", json.dumps({"hash": secret})),
        ("good", good),
        ("broken", '{"password_hash": "' + secret),
        ("other", good),  # names user "good", stored under "other"
        ("nul", json.dumps({**record_json("nul"), "totp_secret": secret + "\x00"})),
    ]
    with server.store.write() as txn:
        txn.lock_facility(server.facility_id)
        for user_id, text in rows:
            pos = txn.next_credential_pos(server.facility_id)
            txn.insert_credential(
                server.facility_id, CredentialRow(pos, user_id, 1, text, "2026-03-01T08:00:00Z")
            )
    tab = server.tablet()
    with caplog.at_level(logging.WARNING, logger="sync.server.app"):
        page = tab.get("/v1/credentials")
    assert page.status_code == 200
    body = page.json()
    assert [i["user_id"] for i in body["items"]] == ["good"]
    assert body["next"] == stored_credentials(server)[-1].pos
    assert body["more"] is False
    assert secret not in caplog.text
    assert HASH not in caplog.text
    assert caplog.text.count("left out of the credential feed") == 5
    # a small page of bad rows only still moves the cursor on
    first = tab.get("/v1/credentials", limit=2).json()
    assert first["items"] == [] and first["more"] is True
    assert first["next"] == stored_credentials(server)[1].pos
    assert_others_unaffected(server, stored=1)


# ---- server-only entry kinds ------------------------------------------------------------------
def _server_only_bodies(tab: SimTablet) -> list[tuple[str, dict[str, Any]]]:
    enrolled = kinds.DeviceEnrolled(
        device_id="rogue-device", public_key=DeviceSigner.generate().public_hex, label="rogue"
    )
    alert = kinds.AlertRaised(
        alert_id="alert-1",
        alert_type="double_dose",
        device_id=tab.device_id,
        related_entry_ids=("e-1",),
        detail="forged",
    )
    renamed = kinds.FacilityConfigured(
        facility=Facility(facility_id=tab.facility_id, name="Taken over", timezone="UTC")
    )
    revoked = kinds.DeviceRevoked(device_id=tab.device_id, mode="retire")
    return [
        (kinds.DEVICE_ENROLLED, kinds.body_json(enrolled)),
        (kinds.ALERT_RAISED, kinds.body_json(alert)),
        (kinds.FACILITY_CONFIGURED, kinds.body_json(renamed)),
        (kinds.DEVICE_REVOKED, kinds.body_json(revoked)),
        (
            kinds.ORDERS_VERIFIED_AT_UPGRADE,
            kinds.body_json(kinds.OrdersVerifiedAtUpgrade(order_ids=("forged-order",))),
        ),
    ]


def test_every_server_only_kind_is_tested() -> None:
    tab = SimTablet(None, device_id="d", facility_id="f")  # type: ignore[arg-type]
    assert {kind for kind, _ in _server_only_bodies(tab)} == kinds.SERVER_ONLY_KINDS


@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_server_only_kinds_are_refused_from_tablets(server: Server, which: int) -> None:
    tab = server.tablet()
    assert tab.push(tab.make(1)).status_code == 200
    kind, body = _server_only_bodies(tab)[which]
    forged = tab.seal(kind, body)
    after = tab.seal()
    resp = tab.push([forged, after])
    assert resp.status_code == 422
    rejections = resp.json()["rejections"]
    assert [(r["index"], r["code"]) for r in rejections] == [(0, "invalid_body"), (1, "gap")]
    assert "server only" in rejections[0]["reason"]
    assert resp.json()["heads"]["ledger"] == 1
    held = [e.kind for e in server.store.entries_of(tab.device_id, "ledger")]
    assert held == [kinds.ADMINISTRATION_RECORDED]
    assert server.store.entries_of_kind(server.facility_id, tab.device_id, kind) == []
    assert all(d.device_id != "rogue-device" for d in server.store.devices())
    alerts = tab.get("/v1/alerts").json()["alerts"]
    assert all(a["detail"] != "forged" for a in alerts)
    assert_others_unaffected(server)


def test_server_only_kinds_are_refused_even_with_the_system_actor(server: Server) -> None:
    tab = server.tablet()
    kind, body = _server_only_bodies(tab)[0]
    forged = seal(
        EntryDraft(kind, SYSTEM_ACTOR, body),
        facility_id=tab.facility_id,
        device_id=tab.device_id,
        seq=1,
        prev=tab.heads["ledger"][1],
        recorded_at=server.core.clock.now(),
        signer=tab.signer,
    )
    resp = tab.push([forged])
    assert resp.status_code == 422
    assert resp.json()["rejections"][0]["code"] == "invalid_body"
    assert list(server.store.entries_of(tab.device_id, "ledger")) == []


def test_pushed_entries_with_seq_beyond_64_bits_are_refused(server: Server) -> None:
    tab = server.tablet()
    for seq in (BIG, 2**64, 2**100):
        resp = tab.push([tab.seal(seq=seq, advance=False)])
        assert resp.status_code == 422, resp.text
        assert resp.json()["rejections"][0]["code"] == "gap"
    assert list(server.store.entries_of(tab.device_id, "ledger")) == []
    assert_others_unaffected(server)


@pytest.mark.parametrize(
    "kind", ["audit.x\x00y", "audit.x\ny", "audit.x\n", "audit.X", "audit." + "x" * 200]
)
def test_audit_kinds_with_control_characters_or_oversize_are_refused(
    server: Server, kind: str
) -> None:
    tab = server.tablet()
    resp = tab.push([tab.seal(kind, audit_body(), advance=False)])
    assert resp.status_code == 422, resp.text
    assert resp.json()["rejections"][0]["code"] == "malformed"
    assert list(server.store.entries_of(tab.device_id, "audit")) == []
    assert_others_unaffected(server)
