"""End to end over a real uvicorn server and real TLS 1.3 on loopback (trustme certificates)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from mar_desktop.envelope import parse_raw
from sync.protocol import Receipt, verify_receipt
from sync.server import config
from sync.server.app import create_app
from sync.server.checker import Verifier
from sync.server.core import ServerCore
from sync.server.runner import ThreadServer, start_thread_server, tls13_context
from sync.server.simtablet import SimTablet


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(ca: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return cert, key


def client_context(ca: trustme.CA, *, max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


@pytest.fixture
def live(
    store_url: str, tmp_path: Path, tls_files: tuple[Path, Path]
) -> Iterator[tuple[ThreadServer, ServerCore, str]]:
    store = config.open_store(store_url)
    store.migrate()
    core = ServerCore(store, config.create_server_key(tmp_path / "data"))
    facility_id, _ = core.create_facility("Maple House", "UTC")
    verifier = Verifier("threads", 2)
    server = start_thread_server(
        create_app(core, verifier=verifier), ssl_context=tls13_context(*tls_files)
    )
    try:
        yield server, core, facility_id
    finally:
        server.stop()
        verifier.close()
        store.close()


def test_two_tablets_end_to_end_over_tls13(
    live: tuple[ThreadServer, ServerCore, str], ca: trustme.CA
) -> None:
    server, core, facility_id = live
    ctx = client_context(ca)
    with httpx.Client(base_url=server.url, verify=ctx, trust_env=False) as http:
        a, b = SimTablet(http), SimTablet(http)
        for tab in (a, b):
            tab.enroll(core.make_enrol_code(facility_id))
            tab.authenticate()
        a_entries = a.make(120) + a.make(5, "audit.resident_viewed")
        b_entries = b.make(80)
        for tab, entries in ((a, a_entries), (b, b_entries)):
            for i in range(0, len(entries), 50):
                resp = tab.push(entries[i : i + 50])
                assert resp.status_code == 200, resp.text
                assert resp.headers["strict-transport-security"].startswith("max-age=")
                assert verify_receipt(Receipt.model_validate(resp.json()), core.public_key)
        items = b.get("/v1/feed", limit=1000).json()["items"]
        pulled = [parse_raw(i["entry"].encode()) for i in items]
        mine = [e for e in pulled if e.device_id in {a.device_id, b.device_id}]
        assert len(mine) == 200  # every ledger entry once, audit entries not in the feed
        assert len({(e.device_id, e.seq) for e in mine}) == 200
        with http.stream("GET", "/health") as resp:
            stream = resp.extensions["network_stream"]
            assert stream.get_extra_info("ssl_object").version() == "TLSv1.3"


def test_tls12_client_is_refused(
    live: tuple[ThreadServer, ServerCore, str], ca: trustme.CA
) -> None:
    server, _, _ = live
    ctx = client_context(ca, max_version=ssl.TLSVersion.TLSv1_2)
    with (
        httpx.Client(base_url=server.url, verify=ctx, trust_env=False) as http,
        pytest.raises(httpx.ConnectError),
    ):
        http.get("/health")
    with httpx.Client(base_url=server.url, verify=client_context(ca), trust_env=False) as http:
        assert http.get("/health").status_code == 200  # and it keeps serving


def test_server_context_is_tls13_only(tls_files: tuple[Path, Path]) -> None:
    ctx = tls13_context(*tls_files)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3


def test_process_pool_verifier_end_to_end(
    tmp_path: Path, tls_files: tuple[Path, Path], ca: trustme.CA
) -> None:
    store = config.open_store(str(tmp_path / "s.sqlite3"))
    store.migrate()
    core = ServerCore(store, config.create_server_key(tmp_path / "data"))
    facility_id, _ = core.create_facility("Maple House", "UTC")
    verifier = Verifier("processes", 2)
    server = start_thread_server(
        create_app(core, verifier=verifier), ssl_context=tls13_context(*tls_files)
    )
    try:
        with httpx.Client(base_url=server.url, verify=client_context(ca), trust_env=False) as h:
            tab = SimTablet(h)
            tab.enroll(core.make_enrol_code(facility_id))
            tab.authenticate()
            entries = tab.make(300)
            bad = entries[150].raw.replace(b'"route":"PO"', b'"route":"IV"').decode()
            wire = [e.raw.decode() for e in entries]
            wire[150] = bad
            resp = tab.push(wire)
            assert resp.status_code == 422
            receipt = Receipt.model_validate(resp.json())
            assert receipt.heads["ledger"] == 150
            assert receipt.rejections[0].code == "bad_signature"
            assert receipt.rejections[0].index == 150
            assert tab.push(entries[150:]).status_code == 200
    finally:
        server.stop()
        verifier.close()
        store.close()
