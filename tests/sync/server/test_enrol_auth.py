"""Enrolment codes and challenge–response authentication."""

from __future__ import annotations

from datetime import timedelta

from mar_desktop.clock import FakeClock
from mar_desktop.signing import DeviceSigner
from sync.server.simtablet import SimTablet
from tests.sync.server.conftest import Server


def test_enrolment_registers_the_device_key(server: Server) -> None:
    tab = server.tablet(label="East cart")
    device = server.store.get_device(tab.device_id)
    assert device is not None
    assert device.public_key == tab.signer.public_hex
    assert device.facility_id == server.facility_id
    assert tab.server_public_key == server.core.public_key
    listed = tab.get("/v1/devices").json()["devices"]
    assert {d["device_id"] for d in listed} >= {tab.device_id}


def test_enrolment_code_is_single_use(server: Server) -> None:
    code = server.core.make_enrol_code(server.facility_id)
    SimTablet(server.client).enroll(code)
    again = server.client.post(
        "/v1/enroll", json={"code": code, "public_key": DeviceSigner.generate().public_hex}
    )
    assert again.status_code == 401
    assert "already used or expired" in again.json()["detail"]
    assert len(server.store.devices(server.facility_id)) == 2  # server + the first tablet


def test_expired_enrolment_code_is_refused(server: Server, clock: FakeClock) -> None:
    code = server.core.make_enrol_code(server.facility_id)
    clock.advance(timedelta(hours=24, seconds=1))
    resp = server.client.post(
        "/v1/enroll", json={"code": code, "public_key": DeviceSigner.generate().public_hex}
    )
    assert resp.status_code == 401
    assert len(server.store.devices(server.facility_id)) == 1


def test_enrolment_codes_are_stored_hashed(server: Server, store_url: str) -> None:
    code = server.core.make_enrol_code(server.facility_id)
    if not store_url.startswith("postgresql"):
        raw = open(store_url, "rb").read()  # noqa: SIM115
        assert code.encode() not in raw and code.replace("-", "").encode() not in raw


def test_bad_public_key_is_refused(server: Server) -> None:
    code = server.core.make_enrol_code(server.facility_id)
    resp = server.client.post("/v1/enroll", json={"code": code, "public_key": "zz" * 32})
    assert resp.status_code == 422


def test_token_needs_a_valid_signature(server: Server) -> None:
    tab = server.tablet()
    nonce = tab.challenge()
    other = DeviceSigner.generate()
    from sync.protocol import auth_message

    bad = other.sign(auth_message(tab.server_id, tab.device_id, nonce)).hex()
    resp = server.client.post(
        "/v1/auth/token", json={"device_id": tab.device_id, "nonce": nonce, "signature": bad}
    )
    assert resp.status_code == 401
    assert "signature" in resp.json()["detail"]


def test_signature_for_another_server_is_refused(server: Server) -> None:
    tab = server.tablet()
    nonce = tab.challenge()
    from sync.protocol import auth_message

    sig = tab.signer.sign(auth_message("another-server", tab.device_id, nonce)).hex()
    resp = server.client.post(
        "/v1/auth/token", json={"device_id": tab.device_id, "nonce": nonce, "signature": sig}
    )
    assert resp.status_code == 401


def test_replayed_nonce_is_refused(server: Server) -> None:
    tab = server.tablet()
    nonce = tab.challenge()
    req = {"device_id": tab.device_id, "nonce": nonce, "signature": tab.sign_nonce(nonce)}
    assert server.client.post("/v1/auth/token", json=req).status_code == 200
    replay = server.client.post("/v1/auth/token", json=req)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]


def test_nonce_expires(server: Server, clock: FakeClock) -> None:
    tab = server.tablet()
    nonce = tab.challenge()
    clock.advance(timedelta(minutes=3))
    req = {"device_id": tab.device_id, "nonce": nonce, "signature": tab.sign_nonce(nonce)}
    assert server.client.post("/v1/auth/token", json=req).status_code == 401


def test_token_is_short_lived(server: Server, clock: FakeClock) -> None:
    tab = server.tablet()
    assert tab.get("/v1/cursor").status_code == 200
    clock.advance(timedelta(minutes=10, seconds=1))
    resp = tab.get("/v1/cursor")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"


def test_requests_without_token_are_refused(server: Server) -> None:
    for path in ("/v1/cursor", "/v1/feed", "/v1/devices", "/v1/alerts", "/v1/credentials"):
        resp = server.client.get(path)
        assert resp.status_code == 401, path
    resp = server.client.get("/v1/cursor", headers={"Authorization": "Bearer forged"})
    assert resp.status_code == 401


def test_unknown_device_gets_no_challenge(server: Server) -> None:
    resp = server.client.post("/v1/auth/challenge", json={"device_id": "no-such-device"})
    assert resp.status_code == 401


def test_revoked_device_is_refused_and_told_so(server: Server) -> None:
    tab = server.tablet()
    entries = tab.make(2)
    server.core.revoke(tab.device_id)
    resp = tab.push(entries)  # with the token it held before revocation
    assert resp.status_code == 403
    assert resp.json()["detail"] == "device revoked"
    challenge = server.client.post("/v1/auth/challenge", json={"device_id": tab.device_id})
    assert challenge.status_code == 403
    assert challenge.json()["detail"] == "device revoked"
    assert server.store.heads(tab.device_id)["ledger"].seq == 0
    listed = server.tablet().get("/v1/devices").json()["devices"]
    assert [d["revoked"] for d in listed if d["device_id"] == tab.device_id] == [True]
