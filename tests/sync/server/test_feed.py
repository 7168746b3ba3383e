"""Pull side: the facility feed, the audit feed, devices, credentials and tenant isolation."""

from __future__ import annotations

from mar_desktop.envelope import parse_raw
from mar_desktop.people.statements import AccountRecord
from mar_desktop.signing import load_public_key
from sync.protocol import FeedPage
from sync.server.simtablet import SimTablet
from tests.sync.server.conftest import Server
from tests.sync.server.records import account_json, signed_admin


def _pull(tab: SimTablet, path: str = "/v1/feed", limit: int = 3) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    after = 0
    while True:
        resp = tab.get(path, after=after, limit=limit)
        assert resp.status_code == 200, resp.text
        page = FeedPage.model_validate(resp.json())
        out += [(i.pos, i.entry.encode()) for i in page.items]
        assert page.next == (page.items[-1].pos if page.items else after)
        if not page.more:
            return out
        after = page.next


def test_feed_pages_through_every_device_in_order(server: Server) -> None:
    a, b = server.tablet(label="A"), server.tablet(label="B")
    a_entries, b_entries = a.make(4), b.make(3)
    assert a.push(a_entries[:2]).status_code == 200
    assert b.push(b_entries).status_code == 200
    assert a.push(a_entries[2:] + a.make(1, "audit.resident_viewed")).status_code == 200
    feed = _pull(b)
    positions = [pos for pos, _ in feed]
    assert positions == list(range(1, len(feed) + 1))  # gapless facility-global positions
    raws = [raw for _, raw in feed]
    device_raws = [r for r in raws if parse_raw(r).device_id in {a.device_id, b.device_id}]
    assert device_raws == [e.raw for e in a_entries[:2] + b_entries + a_entries[2:]]
    kinds = [parse_raw(r).kind for r in raws]
    assert kinds[0] == "facility.configured"
    assert kinds.count("device.enrolled") == 2
    assert not any(k.startswith("audit.") for k in kinds)  # audit stays off the carts' feed
    audit = _pull(a, "/v1/audit/feed")
    assert [parse_raw(r).kind for _, r in audit] == ["audit.resident_viewed"]
    # resuming after the last position gives nothing new
    last = feed[-1][0]
    assert b.get("/v1/feed", after=last).json() == {"items": [], "next": last, "more": False}


def test_server_entries_verify_with_the_server_key(server: Server) -> None:
    from mar_desktop.chain import check_signature
    from mar_desktop.signing import load_public_key

    tab = server.tablet()
    devices = {d["device_id"]: d for d in tab.get("/v1/devices").json()["devices"]}
    for _, raw in _pull(tab):
        entry = parse_raw(raw)
        assert check_signature(raw, load_public_key(devices[entry.device_id]["public_key"]))


def test_facilities_are_isolated(server: Server) -> None:
    other_id, _ = server.core.create_facility("Birch Court", "UTC")
    here, there = server.tablet(), server.tablet(other_id)
    assert here.push(here.make(3)).status_code == 200
    assert there.push(there.make(2)).status_code == 200
    here_feed = {parse_raw(r).facility_id for _, r in _pull(here)}
    there_feed = {parse_raw(r).facility_id for _, r in _pull(there)}
    assert here_feed == {server.facility_id}
    assert there_feed == {other_id}
    here_devices = {d["device_id"] for d in here.get("/v1/devices").json()["devices"]}
    assert there.device_id not in here_devices
    assert here.get("/v1/devices").json()["facility_id"] == server.facility_id
    admin = signed_admin(server)
    put = here.http.put(
        "/v1/credentials/u1",
        json={"version": 1, "record": account_json(admin, "u1")},
        headers=here.auth,
    )
    assert put.status_code == 200
    assert there.get("/v1/credentials").json()["items"] == []
    assert len(here.get("/v1/credentials").json()["items"]) == 3
    # a device of one facility cannot push into another facility's chains
    foreign = there.seal(advance=False)
    foreign_as_here = here.push([foreign])
    assert foreign_as_here.json()["rejections"][0]["code"] == "wrong_device"


def test_credentials_are_versioned_and_never_edited(server: Server) -> None:
    tab = server.tablet()
    admin = signed_admin(server)

    def put(user: str, record: dict[str, object]) -> tuple[int, dict[str, object]]:
        resp = tab.http.put(
            f"/v1/credentials/{user}", json={"version": 1, "record": record}, headers=tab.auth
        )
        return resp.status_code, resp.json()

    first = account_json(admin, "u1")
    assert put("u1", first)[1]["created"] is True
    assert put("u1", first)[1]["created"] is False  # idempotent re-send
    status, body = put("u1", account_json(admin, "u1", role="cna"))
    assert status == 409
    assert "already stored" in body["detail"]
    assert put("u2", account_json(admin, "u2"))[0] == 200
    items = tab.get("/v1/credentials").json()["items"]
    assert [(i["user_id"], i["version"]) for i in items] == [
        (admin.head.user_id, 1),
        (admin.head.user_id, 2),
        ("u1", 1),
        ("u2", 1),
    ]
    stored = AccountRecord.model_validate(items[2]["record"])
    assert stored.server_sig_valid(load_public_key(server.core.public_key))  # co-signed
    assert stored.digest() == AccountRecord.model_validate(first).digest()
    later = tab.get("/v1/credentials", after=items[2]["pos"]).json()["items"]
    assert [i["user_id"] for i in later] == ["u2"]


def test_bad_query_parameters_are_4xx(server: Server) -> None:
    tab = server.tablet()
    for params in (
        {"after": -1},
        {"limit": 0},
        {"limit": 100_000},
        {"after": 2**70},
        {"after": "x"},
    ):
        assert tab.get("/v1/feed", **params).status_code == 422, params
    assert (
        tab.http.put(
            "/v1/credentials/a%00b",
            json={"version": 1, "record": account_json(signed_admin(server), "a")},
            headers=tab.auth,
        ).status_code
        == 422
    )


def test_openapi_spec_is_published(server: Server) -> None:
    spec = server.client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/v1/enroll",
        "/v1/auth/challenge",
        "/v1/auth/token",
        "/v1/cursor",
        "/v1/push",
        "/v1/feed",
        "/v1/audit/feed",
        "/v1/devices",
        "/v1/alerts",
        "/v1/credentials",
        "/v1/credentials/{user_id}",
        "/health",
    } <= paths
    assert "Receipt" in spec["components"]["schemas"]
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
