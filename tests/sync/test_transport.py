"""Transport security: every weak or wrong TLS setup is refused before any entry is sent."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from mar_desktop import audit
from mar_desktop.envelope import SYSTEM_ACTOR
from mar_desktop.errors import SyncError, TransportRefused
from storage.sync_state import ServerInfo
from sync.client import ServerClient, spki_sha256
from sync.engine import SyncEngine
from sync.enroll import enroll
from sync.server.app import create_app
from sync.server.runner import ThreadServer, start_thread_server, tls13_context
from tests.sync.conftest import Site, Tablet


def _pem(tmp: Path, cert: trustme.LeafCert, name: str) -> Path:
    path = tmp / f"{name}.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(path))
    return path


def _tls12_only(cert: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert))
    return ctx


def _record(tab: Tablet, n: int = 3) -> None:
    for _ in range(n):
        tab.store.ledger.append(
            [audit.audit_draft(audit.SYNCED, actor=SYSTEM_ACTOR, user_name="system")]
        )


def _server_entries(site: Site, device_id: str) -> int:
    return sum(1 for chain in ("ledger", "audit")
               for _ in site.core.store.entries_of(device_id, chain))  # type: ignore[arg-type]


@pytest.fixture
def tablet(site: Site) -> Tablet:
    tab = site.tablet("t")
    tab.engine.sync_once()
    _record(tab)
    return tab


BadKind = str


@pytest.fixture(params=["tls12", "expired", "wrong_host", "untrusted"])
def bad_server(
    request: pytest.FixtureRequest, site: Site, ca: trustme.CA, tmp_path: Path
) -> Iterator[tuple[BadKind, ThreadServer]]:
    kind = request.param
    if kind == "tls12":
        ctx = _tls12_only(_pem(tmp_path, ca.issue_cert("127.0.0.1"), kind))
    elif kind == "expired":
        past = datetime.now(UTC) - timedelta(days=30)
        cert = ca.issue_cert("127.0.0.1", not_before=past - timedelta(days=30), not_after=past)
        ctx = tls13_context(_pem(tmp_path, cert, kind), _pem(tmp_path, cert, kind))
    elif kind == "wrong_host":
        path = _pem(tmp_path, ca.issue_cert("mar.example.org"), kind)
        ctx = tls13_context(path, path)
    else:
        path = _pem(tmp_path, trustme.CA().issue_cert("127.0.0.1"), kind)
        ctx = tls13_context(path, path)
    server = start_thread_server(create_app(site.core), ssl_context=ctx)
    yield kind, server
    server.stop()


def test_bad_tls_is_refused_before_any_entry_is_sent(
    site: Site, tablet: Tablet, bad_server: tuple[BadKind, ThreadServer]
) -> None:
    kind, server = bad_server
    device = tablet.store.device_id
    held = _server_entries(site, device)
    info = tablet.engine.state.server()
    assert info is not None
    engine = SyncEngine(
        tablet.store,
        client_maker=lambda i: ServerClient(server.url, ca_pem=i.ca_pem, pin=i.pin),
    )
    try:
        with pytest.raises(TransportRefused):
            engine.sync_once()
        assert engine.status.current.state == "refused"
        assert engine.status.current.last_error
        assert engine.pending() > 0
    finally:
        engine.close()
    assert _server_entries(site, device) == held, kind
    # Enrolment through the same server is refused too, and no device is registered.
    before = len(site.core.store.devices(site.facility_id))
    with pytest.raises(TransportRefused):
        enroll(
            tablet.data_dir.parent / f"new-{kind}", b"k" * 32, server_url=server.url,
            code=site.code(), ca_pem=site.ca_pem,
        )
    assert len(site.core.store.devices(site.facility_id)) == before


def _leaf_spki(site: Site) -> str:
    host, port = "127.0.0.1", site.server.port
    ctx = ssl.create_default_context(cadata=site.ca_pem)
    with socket.create_connection((host, port)) as raw, ctx.wrap_socket(
        raw, server_hostname=host
    ) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return spki_sha256(der)


def test_wrong_pin_is_refused_before_any_entry_is_sent_and_the_right_pin_works(
    site: Site, tablet: Tablet
) -> None:
    device = tablet.store.device_id
    held = _server_entries(site, device)
    wrong = "ab" * 32

    def pinned(pin: str) -> SyncEngine:
        return SyncEngine(
            tablet.store,
            client_maker=lambda i: ServerClient(i.url, ca_pem=i.ca_pem, pin=pin),
        )

    engine = pinned(wrong)
    with pytest.raises(TransportRefused, match="pinned"):
        engine.sync_once()
    engine.close()
    assert _server_entries(site, device) == held
    engine = pinned(_leaf_spki(site))
    report = engine.sync_once()
    engine.close()
    assert report.pushed >= 3
    assert _server_entries(site, device) > held


def test_enrolment_with_a_pin_keeps_it_and_uses_it(site: Site) -> None:
    pin = _leaf_spki(site)
    tab = site.tablet("pinned", pin=pin.upper())
    info = tab.engine.state.server()
    assert info is not None and info.pin == pin
    tab.engine.sync_once()
    with pytest.raises(TransportRefused):
        site.tablet("mis-pinned", pin="00" * 32)


def test_plain_http_is_refused_with_a_clear_message(site: Site, tmp_path: Path) -> None:
    http_url = site.url.replace("https://", "http://")
    with pytest.raises(TransportRefused, match="https://"):
        ServerClient(http_url)
    with pytest.raises(TransportRefused, match="https://"):
        enroll(tmp_path / "x", b"k" * 32, server_url=http_url, code="AAAA")
    assert not (tmp_path / "x").exists()


def test_environment_cannot_weaken_tls(
    site: Site, tablet: Tablet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(site.ca_pem)
    keylog = tmp_path / "keys.log"
    # A proxy that would see everything (nothing listens there) and a CA bundle that trusts
    # the test CA, and a key log file: none may take effect.
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    # 1. Proxy variables are ignored: the sync goes straight to the server and works.
    report = tablet.engine.sync_once()
    assert report.pushed >= 3
    # 2. Key log variable is ignored: no TLS secrets were written.
    assert not keylog.exists() or keylog.stat().st_size == 0
    # 3. CA variables do not add trust: without the enrolled CA, the test CA is not trusted.
    info = tablet.engine.state.server()
    assert info is not None
    plain = ServerInfo(info.url, info.server_id, info.server_device_id, info.server_public_key)
    client = ServerClient(plain.url)
    with pytest.raises(TransportRefused, match="verified"):
        client.enroll("AAAA-BBBB", "00" * 32, "x")
    client.close()


def test_refused_enrolment_code_is_a_clear_sync_error(site: Site, tmp_path: Path) -> None:
    with pytest.raises(SyncError, match="enrolment code"):
        enroll(tmp_path / "y", b"k" * 32, server_url=site.url, code="NOPE-NOPE",
               ca_pem=site.ca_pem)
    assert not (tmp_path / "y" / "mar-desktop.db").exists()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


def test_nothing_listening_is_told_apart_from_a_dropped_connection(tmp_path: Path) -> None:
    """Connection refused (wrong port, server down) is named as such — it used to read "the
    connection to the server broke off", which sends an admin looking for a network fault."""
    url = f"https://127.0.0.1:{_closed_port()}"
    with pytest.raises(SyncError, match="refused the connection") as refused:
        enroll(tmp_path / "z", b"k" * 32, server_url=url, code="AAAA-BBBB")
    assert "broke off" not in str(refused.value)
    assert not (tmp_path / "z").exists()


def test_cli_enrolment_failure_says_it_was_not_enrolled_and_promises_no_retry(
    tmp_path: Path, memory_keyring: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli.main import main

    url = f"https://127.0.0.1:{_closed_port()}"
    data = tmp_path / "tablet"
    assert main(["enroll", "--data-dir", str(data), "--server", url, "--code", "AAAA"]) == 7
    said = capsys.readouterr().err
    assert "This tablet was not enrolled. The server refused the connection" in said
    assert "will retry" not in said
    assert not data.exists()
