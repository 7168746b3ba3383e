"""The oldest tablet a server accepts (DESIGN "Versions and rollout"): every request names the
app's version; a server answers 426 to an older one before reading or writing anything, and the
refused tablet stops showing patient data (no break-glass: nothing recorded on it could be sent)
until the app is updated; the updated app's first sync clears the refusal. Real server, TLS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from fastapi.testclient import TestClient

from mar_desktop import __version__
from mar_desktop.errors import TabletUpdateRequired, ValidationError
from mar_desktop.people.offline import OfflineLimit, OfflineState
from storage.offline_contact import SqlContactStore
from storage.sync_state import SyncState
from sync import protocol as p
from sync.server import audit as server_audit
from sync.server.app import create_app
from sync.server.tablet_version import OLDEST_ACCEPTED_TABLET, oldest_tablet
from tests.sync.conftest import Site, restart_site, start_site, stop_site
from tests.sync.test_recovery import _give_all
from tests.sync.test_revocation import _signed_in
from tests.sync.world import cart, plain_orders, seed, server_rows


@pytest.fixture
def clocked(tmp_path: Path, cert_files: Path, ca: trustme.CA) -> Iterator[Site]:
    from mar_desktop.clock import FakeClock
    from tests.facility import NOW

    built = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca, FakeClock(NOW))
    yield built
    stop_site(built)


def test_a_refused_app_shows_no_phi_until_updated_then_syncs_again(
    clocked: Site, cert_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = clocked
    a = cart(site, "cart-a")
    seeded = seed(a)
    a.tab.engine.sync_once()
    sessions = _signed_in(a, seeded)
    held = server_rows(site)

    site.stop_server()
    restart_site(site, cert_files, oldest_tablet="99.0")  # the operator raised the floor
    _give_all(a, seeded, plain_orders(seeded, 1)[0], [a], a.clock)
    with pytest.raises(TabletUpdateRequired, match=r"accepts 99\.0 or newer") as refused:
        a.tab.engine.sync_once()
    assert refused.value.oldest == "99.0"
    assert server_rows(site) == held  # nothing read or written for the old app
    assert a.tab.engine.status.current.state == "update_required"
    assert a.tab.engine.offline.status().state is OfflineState.UPDATE_REQUIRED
    sessions.tick()
    assert sessions.current is None  # everyone signed out: no patient data shown
    # kept across a restart of the same app
    contacts = SqlContactStore(SyncState(a.tab.store.connect_reader, a.clock))
    assert OfflineLimit(a.clock, contacts).status().state is OfflineState.UPDATE_REQUIRED

    # the app is updated: no longer held, and its first sync hands over what was recorded
    monkeypatch.setattr("mar_desktop.versions.__version__", "99.0")
    monkeypatch.setattr("sync.client.__version__", "99.0")
    a.tab.engine.offline.reload()
    assert a.tab.engine.offline.status().state is OfflineState.OK
    a.tab.engine.sync_once()
    assert len(server_rows(site)) > len(held)
    signed_in = site.core.store.audit_rows(site.facility_id, None, None, 10_000)
    versions = [r.detail for r in signed_in if r.action == server_audit.SIGNED_IN]
    assert versions[0] == f"app {__version__}" and versions[-1] == "app 99.0"
    assert contacts.update_required() is None


def test_the_gate_answers_426_to_an_older_or_unreadable_version(site: Site) -> None:
    app = create_app(site.core, oldest_tablet="0.5.0")
    with TestClient(app, base_url="https://testserver") as client:
        refused = client.get("/v1/cursor", headers={p.APP_VERSION_HEADER: "0.4.9"})
        assert refused.status_code == 426
        body = p.TabletTooOld.model_validate(refused.json())
        assert body.oldest_accepted == "0.5.0" and "update it" in body.detail
        assert refused.headers["strict-transport-security"]  # still the API's headers
        for named in ("banana", ""):
            answer = client.get("/v1/cursor", headers={p.APP_VERSION_HEADER: named})
            assert answer.status_code == 426
        # no header: a release before tablets named their version (0.1.x), older than 0.5.0
        assert client.get("/v1/cursor").status_code == 426
        # accepted versions reach the API (401: no token), and /health is not versioned
        assert client.get("/v1/cursor", headers={p.APP_VERSION_HEADER: "0.5.0"}).status_code == 401
        assert client.get("/health").status_code == 200
    with TestClient(create_app(site.core), base_url="https://testserver") as client:
        # this release accepts the previous one, which sends no header
        assert client.get("/v1/cursor").status_code == 401
        old = client.get("/v1/cursor", headers={p.APP_VERSION_HEADER: __version__})
        assert old.status_code == 401


def test_the_floor_may_only_be_raised() -> None:
    assert oldest_tablet(None) == OLDEST_ACCEPTED_TABLET
    assert oldest_tablet("2.0") == "2.0"
    with pytest.raises(ValidationError, match="cannot be below"):
        oldest_tablet("0.0.1")
    with pytest.raises(ValidationError, match="not a version"):
        oldest_tablet("latest")


def test_serve_refuses_a_floor_below_the_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sync.server.cli import main

    data = ["--data", str(tmp_path / "data"), "--db", str(tmp_path / "s.sqlite3")]
    assert main([*data, "init", "--facility-name", "Maple House", "--json"]) == 0
    json.loads(capsys.readouterr().out)
    code = main([*data, "serve", "--insecure-http-loopback", "--oldest-tablet-version", "0.0.1"])
    assert code != 0
    assert "cannot be below" in capsys.readouterr().err
