"""Property-based: the whole API driven with hostile values never answers 5xx, on SQLite and
PostgreSQL, and a refused request stores nothing.

Hostile values: integers beyond 64 bits (and at its edges), strings with NUL and other control
characters, oversize strings, deep nesting, wrong JSON types, unknown fields. Each example is
one request: a valid request of one endpoint with one field replaced (or added) by such a
value, or a path/query parameter set to one. Bounded to keep the test a few seconds per store.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mar_desktop.signing import DeviceSigner
from sync.server.simtablet import audit_body
from tests.sync.server.conftest import Server
from tests.sync.server.records import record_json
from tests.sync.server.test_shapes import nested

_EDGE_INTS = [2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 2**64, 2**100, -1, 0]
_EDGE_TEXT = ["", "a\x00b", "\x00", "\n", "\x1b[31m", "\x7f", "\u0085", "x" * 65, "x" * 5000]

scalars = st.one_of(
    st.sampled_from(_EDGE_INTS),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from(_EDGE_TEXT),
    st.text(max_size=40),  # any code point but surrogates: NUL and controls included
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
values = st.one_of(
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
        max_leaves=8,
    ),
    st.integers(min_value=1, max_value=700).map(nested),
)
path_ids = st.one_of(st.sampled_from(_EDGE_TEXT[1:]), st.text(min_size=1, max_size=70))


def _mutate(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """``base`` with one field (known or new) set to a hostile value, or dropped."""
    key = data.draw(st.sampled_from([*base, "extra"]))
    out = dict(base)
    if data.draw(st.booleans()) and key in out:
        del out[key]
    else:
        out[key] = data.draw(values)
    return out


class _Api:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.tab = server.tablet()
        assert self.tab.push(self.tab.make(2)).status_code == 200
        self.code = server.core.make_enrol_code(server.facility_id)
        self.key = DeviceSigner.generate().public_hex

    def stored(self) -> tuple[int, ...]:
        store, fid = self.server.store, self.server.facility_id
        return (
            len(store.credentials(fid, 0, 10_000)),
            len(store.devices()),
            len(store.feed(fid, "ledger", 0, 10_000)),
            len(store.feed(fid, "audit", 0, 10_000)),
        )

    def call(self, endpoint: str, data: st.DataObject) -> Any:
        http, auth = self.server.client, self.tab.auth
        if endpoint == "enroll":
            body = _mutate({"code": self.code, "public_key": self.key, "label": "cart"}, data)
            return http.post("/v1/enroll", json=body)
        if endpoint == "challenge":
            return http.post("/v1/auth/challenge", json=_mutate({"device_id": "d"}, data))
        if endpoint == "token":
            base = {"device_id": self.tab.device_id, "nonce": "n" * 43, "signature": "0" * 128}
            return http.post("/v1/auth/token", json=_mutate(base, data))
        if endpoint in ("push", "relay"):
            if data.draw(st.booleans()):
                body = {"entries": [data.draw(values)]}
            else:
                body = _mutate({"entries": ["{}"]}, data)
            return http.post(f"/v1/{endpoint}", json=body, headers=auth)
        if endpoint == "push-entry":  # a signed entry of this device with a hostile kind
            kind = data.draw(
                st.one_of(
                    st.text(max_size=70),
                    st.text(max_size=70).map("audit.".__add__),
                    st.from_regex(r"audit\.[a-z][a-z0-9_]{0,70}", fullmatch=True),
                )
            )
            entry = self.tab.seal(kind, audit_body(), advance=False)
            resp = http.post("/v1/push", json={"entries": [entry.raw.decode()]}, headers=auth)
            if resp.status_code == 200:  # a well-formed audit kind: the chain moved on
                self.tab.heads[entry.chain] = (entry.seq, entry.digest)
            return resp
        if endpoint == "put-record":
            user_id = data.draw(st.one_of(st.just("u1"), path_ids))
            record = _mutate(record_json("u1", 1), data)
            body = {"version": 1, "record": record}
            return http.put(f"/v1/credentials/{quote(user_id, safe='')}", json=body, headers=auth)
        if endpoint == "put-body":
            body = _mutate({"version": 1, "record": record_json("u1", 1)}, data)
            return http.put("/v1/credentials/u1", json=body, headers=auth)
        path = {
            "feed": "/v1/feed",
            "audit": "/v1/audit/feed",
            "credentials": "/v1/credentials",
            "devices": "/v1/devices",
            "alerts": "/v1/alerts",
            "cursor": "/v1/cursor",
        }[endpoint]
        params = {
            name: str(data.draw(st.one_of(st.sampled_from(_EDGE_INTS), scalars)))
            for name in data.draw(st.sets(st.sampled_from(["after", "limit", "x"])))
        }
        return http.get(path, params=params, headers=auth)


ENDPOINTS = [
    "enroll",
    "challenge",
    "token",
    "push",
    "push-entry",
    "relay",
    "put-record",
    "put-body",
    "feed",
    "audit",
    "credentials",
    "devices",
    "alerts",
    "cursor",
]


def test_hostile_values_never_cause_a_server_error(server: Server) -> None:
    api = _Api(server)

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(endpoint=st.sampled_from(ENDPOINTS), data=st.data())
    def one_request(endpoint: str, data: st.DataObject) -> None:
        before = api.stored()
        resp = api.call(endpoint, data)
        assert resp.status_code < 500, (endpoint, resp.status_code, resp.text)
        if resp.status_code >= 400:
            assert api.stored() == before, (endpoint, resp.status_code, resp.text)
            answer = resp.json()  # a reason: "detail", or a push receipt's rejections
            assert isinstance(answer.get("detail"), str) or answer.get("rejections")

    one_request()
    # the facility still works for everyone
    assert api.tab.get("/v1/credentials").status_code == 200
    other = server.tablet(label="other")
    assert other.push(other.make(1)).status_code == 200
    assert other.get("/v1/credentials").status_code == 200
