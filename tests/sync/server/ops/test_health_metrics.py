"""/health (liveness + database reachability) and /metrics (Prometheus text, guarded)."""

from __future__ import annotations

import ipaddress
import shutil
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sync.server import config, opsdb
from sync.server.app import create_app
from sync.server.core import ServerCore
from sync.server.health import HealthProbe
from sync.server.metrics import LOOPBACK, MetricsAccess
from sync.server.simtablet import administration_body
from tests.sync.server.conftest import PG_DSN, Server
from tests.sync.server.ops.conftest import METRICS_TOKEN

AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics", headers=AUTH)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- /health ---------------------------------------------------------------------------------
def test_health_reports_the_database_ok_without_auth(server: Server) -> None:
    resp = server.client.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok", "protocol": 1}


def destroy_database(url: str) -> None:
    """Makes the server's database unusable under a running server."""
    if url.startswith("postgresql://"):
        schema = url.rsplit("search_path%3D", 1)[1]
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
            admin.execute(f"CREATE SCHEMA {schema}")  # empty again: no tables at all
        return
    path = Path(url)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.mkdir()  # a directory where the database file was: SQLite cannot open it


def test_health_is_503_when_the_database_is_gone(server: Server, store_url: str) -> None:
    assert server.client.get("/health").status_code == 200
    server.store.close()  # drop pooled connections so the next query opens the destroyed file
    destroy_database(store_url)
    resp = server.client.get("/health")
    assert resp.status_code == 503
    assert resp.json() == {"status": "unavailable", "database": "unreachable", "protocol": 1}
    if not store_url.startswith("postgresql://"):
        shutil.rmtree(store_url)


def test_health_is_503_when_postgres_is_not_listening(tmp_path: Path) -> None:
    store = config.open_store("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")
    core = ServerCore(store, config.create_server_key(tmp_path / "data"))
    with TestClient(create_app(core), base_url="https://testserver") as client:
        resp = client.get("/health")
    assert resp.status_code == 503
    assert resp.json()["database"] == "unreachable"


def test_health_probe_thread_ends_with_the_application(tmp_path: Path) -> None:
    store = config.open_store(str(tmp_path / "s.sqlite3"))
    store.migrate()
    core = ServerCore(store, config.create_server_key(tmp_path / "data"))
    try:
        app = create_app(core)
        with TestClient(app, base_url="https://testserver") as client:
            assert client.get("/health").status_code == 200
            assert any(t.name.startswith("mar-health") for t in threading.enumerate())
        for thread in [t for t in threading.enumerate() if t.name.startswith("mar-health")]:
            thread.join(5)
        assert not [t for t in threading.enumerate() if t.name.startswith("mar-health")]
        with TestClient(app, base_url="https://testserver") as client:  # served again
            assert client.get("/health").status_code == 200
    finally:
        store.close()


def test_health_times_out_on_a_hung_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = config.open_store(str(tmp_path / "s.sqlite3"))
    store.migrate()
    core = ServerCore(store, config.create_server_key(tmp_path / "data"))
    release = threading.Event()
    calls: list[int] = []

    def hang(_: object) -> int:
        calls.append(1)
        release.wait(10)
        return 1

    monkeypatch.setattr(opsdb, "schema_version", hang)
    probe = HealthProbe(core, timeout=0.2)
    try:
        assert probe.check().database == "timeout"
        assert probe.check().database == "timeout"
        assert len(calls) == 1  # the second check waited on the same stuck probe
        release.set()
        monkeypatch.undo()
        probe._pending.result(5)  # type: ignore[union-attr]
        assert probe.check().status == "ok"
    finally:
        release.set()
        probe.close()
        store.close()


# ---- /metrics --------------------------------------------------------------------------------
def test_metrics_refuse_without_the_token(server: Server) -> None:
    assert server.client.get("/metrics").status_code == 401
    bad = server.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    assert METRICS_TOKEN not in bad.text


def test_metrics_access_rules() -> None:
    default = MetricsAccess.from_env({})
    assert default.allow == LOOPBACK
    assert default.refusal("127.0.0.1", None) is None
    assert default.refusal("::1", None) is None
    assert default.refusal("10.0.0.5", None) == (403, "metrics are not served to this address")
    assert default.refusal("testclient", None) is not None
    narrowed = MetricsAccess.from_env({"MAR_METRICS_ALLOW": "10.0.0.0/8, 192.168.1.7"})
    assert narrowed.allow == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.7/32"),
    )
    assert narrowed.refusal("10.1.2.3", None) is None
    assert narrowed.refusal("192.168.1.8", None) is not None
    token = MetricsAccess.from_env({"MAR_METRICS_TOKEN": "s3cret"})
    assert token.allow is None  # a token alone opens every address...
    assert token.refusal("203.0.113.9", "Bearer s3cret") is None
    assert token.refusal("203.0.113.9", "Bearer s3cre") == (
        401,
        "metrics need the bearer token (MAR_METRICS_TOKEN)",
    )
    both = MetricsAccess.from_env({"MAR_METRICS_TOKEN": "s3cret", "MAR_METRICS_ALLOW": "::1"})
    assert both.refusal("127.0.0.1", "Bearer s3cret") is not None  # ...unless narrowed
    assert both.refusal("::1", "Bearer s3cret") is None


def test_metrics_parse_and_count_pushes_rejections_forks_and_lag(server: Server) -> None:
    tab = server.tablet(label="Cart Rosewood Wing")
    before = scrape(server.client)
    stored_before = value(
        before, "mar_entries_stored", facility_id=server.facility_id, chain="ledger"
    )
    assert value(before, "mar_database_up") == 1

    entries = tab.make(3)
    assert tab.push(entries).status_code == 200
    assert tab.push(entries).status_code == 200  # identical re-send: duplicates
    gap = tab.seal(seq=10, advance=False)
    assert tab.push([gap]).status_code == 422
    fork = tab.seal(seq=2, advance=False, body=administration_body(999))
    assert tab.push([fork]).status_code == 409

    after = scrape(server.client)
    assert value(after, "mar_entries_accepted_total") == 3
    assert value(after, "mar_entries_duplicate_total") == 3
    assert value(after, "mar_entries_rejected_total", reason="gap") == 1
    assert value(after, "mar_entries_rejected_total", reason="fork") == 1
    assert value(after, "mar_pushes_total", status="200") == 2
    assert value(after, "mar_pushes_total", status="409") == 1
    push_200 = {"route": "/v1/push", "method": "POST", "status": "200"}
    assert value(after, "mar_http_requests_total", **push_200) == 2
    latency = {"route": "/v1/push", "method": "POST"}
    assert value(after, "mar_http_request_duration_seconds_count", **latency) == 4
    assert value(after, "mar_http_request_duration_seconds_bucket", le="+Inf", **latency) == 4
    assert value(after, "mar_forks_recorded_total") == 1
    assert value(after, "mar_alerts_raised_total", facility_id=server.facility_id) == 1
    # three tablet entries plus the server's own fork alert in the ledger feed
    ledger = value(after, "mar_entries_stored", facility_id=server.facility_id, chain="ledger")
    assert ledger == stored_before + 4
    lag = value(after, "mar_sync_lag_seconds", device_id=tab.device_id)
    assert ("mar_sync_lag_seconds", (("device_id", tab.device_id),)) in after
    assert 0 <= lag < 60
    text = server.client.get("/metrics", headers=AUTH).text
    assert "Rosewood" not in text  # device labels (names) never appear, ids only


def test_metrics_route_labels_stay_bounded(server: Server) -> None:
    server.client.get("/no/such/path/abc123")
    server.client.get("/v1/credentials", headers={"Authorization": "Bearer x"})
    samples = scrape(server.client)
    assert value(samples, "mar_http_requests_total", route="unmatched", method="GET", status="404")
    assert value(
        samples, "mar_http_requests_total", route="/v1/credentials", method="GET", status="401"
    )
    assert not any("abc123" in str(key) for key in samples)


def test_metrics_say_database_down_instead_of_failing(server: Server, store_url: str) -> None:
    server.store.close()
    destroy_database(store_url)
    samples = scrape(server.client)
    assert value(samples, "mar_database_up") == 0
    assert not any(name == "mar_sync_lag_seconds" for name, _ in samples)
    if not store_url.startswith("postgresql://"):
        shutil.rmtree(store_url)
