"""``mar-server`` commands: init, enroll-code, devices, revoke-device, verify, alerts; backups."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mar_desktop.kinds import ADMINISTRATION_RECORDED
from mar_desktop.model import Role
from mar_desktop.people import userkeys
from mar_desktop.people.statements import AccountRecord
from mar_desktop.signing import load_public_key
from sync.server import config
from sync.server.app import create_app
from sync.server.cli import main
from sync.server.core import ServerCore
from sync.server.simtablet import SimTablet


@pytest.fixture
def site(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[dict]:
    data = tmp_path / "data"
    args = ["--data", str(data), "--db", store_url]
    assert main([*args, "init", "--facility-name", "Maple House", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    core = ServerCore(config.open_store(store_url), config.load_server_key(data))
    with TestClient(create_app(core), base_url="https://testserver") as client:
        yield {"args": args, "init": out, "core": core, "client": client, "data": data}
    core.store.close()


def _run(site: dict, capsys: pytest.CaptureFixture[str], *cmd: str) -> tuple[int, str]:
    code = main([*site["args"], *cmd])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_init_makes_facility_admin_key_and_code(
    site: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    init = site["init"]
    key = site["data"] / config.KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert init["server_public_key"] == config.load_server_key(site["data"]).public_hex
    assert init["admin"]["must_change_password"] is True
    tab = SimTablet(site["client"])
    tab.enroll(init["enrolment_code"])
    tab.authenticate()
    creds = tab.get("/v1/credentials").json()["items"]
    assert [c["user_id"] for c in creds] == [init["admin"]["user_id"]]
    record = AccountRecord.model_validate(creds[0]["record"])
    assert record.change == "created" and record.role is Role.FACILITY_ADMIN
    assert record.must_change_password and record.user_public is None
    assert record.server_sig_valid(load_public_key(init["server_public_key"]))
    assert init["admin"]["temporary_password"] not in json.dumps(creds[0]["record"])
    derived = userkeys.check(record.password, init["admin"]["temporary_password"])
    assert derived is not None
    assert derived.binding_signer().public_hex == record.bind_public
    kinds = [json.loads(i["entry"])["kind"] for i in tab.get("/v1/feed").json()["items"]]
    assert kinds[:2] == ["facility.configured", "user.created"]


def test_key_readable_by_others_is_refused(site: dict, capsys: pytest.CaptureFixture[str]) -> None:
    os.chmod(site["data"] / config.KEY_FILE, 0o644)
    code, out = _run(site, capsys, "devices")
    assert code == 6
    assert "chmod 600" in out


def test_enroll_code_devices_and_revoke(site: dict, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(site, capsys, "enroll-code", "--json")
    assert code == 0
    tab = SimTablet(site["client"])
    tab.enroll(json.loads(out)["code"], label="North cart")
    code, out = _run(site, capsys, "devices")
    assert "North cart" in out
    assert tab.device_id in out
    assert _run(site, capsys, "revoke-device", tab.device_id)[0] == 0
    code, out = _run(site, capsys, "devices", "--json")
    revoked = [d for d in json.loads(out)["devices"] if d["device_id"] == tab.device_id]
    assert revoked[0]["revoked_at"] is not None
    assert _run(site, capsys, "revoke-device", "nope")[0] != 0


def _tablet_with_entries(site: dict, n: int = 5) -> SimTablet:
    core: ServerCore = site["core"]
    tab = SimTablet(site["client"])
    tab.enroll(core.make_enrol_code(site["init"]["facility_id"]))
    tab.authenticate()
    assert tab.push(tab.make(n) + tab.make(2, "audit.resident_viewed")).status_code == 200
    return tab


def test_verify_passes_then_names_a_tampered_entry(
    site: dict, capsys: pytest.CaptureFixture[str], store_url: str
) -> None:
    tab = _tablet_with_entries(site)
    code, out = _run(site, capsys, "verify")
    assert code == 0, out
    assert out.startswith("OK: ")
    victim = tab.entries[2]
    tampered = victim.raw.replace(b'"route":"PO"', b'"route":"IV"')
    with site["core"].store.write() as txn:  # an attacker with database access
        if store_url.startswith("postgresql"):
            txn._exec("ALTER TABLE entries DISABLE TRIGGER entries_append_only")
        else:
            txn._exec("DROP TRIGGER entries_no_update")
        txn._exec("UPDATE entries SET raw = ? WHERE entry_id = ?", (tampered, victim.id))
    code, out = _run(site, capsys, "verify")
    assert code == 5
    assert out.startswith("FAILED: ")
    assert victim.id in out
    assert "seq 3" in out
    assert "invalid signature" in out


def test_alerts_command_lists_forks(site: dict, capsys: pytest.CaptureFixture[str]) -> None:
    tab = _tablet_with_entries(site, 2)
    tab.heads["ledger"] = (1, tab.entries[0].digest)
    body = {**tab.entries[1].body, "note": "from the clone"}
    assert tab.push([tab.seal(ADMINISTRATION_RECORDED, body)]).status_code == 409
    _code, out = _run(site, capsys, "alerts", "--json")
    alerts = json.loads(out)["alerts"]
    assert [(a["alert_type"], a["device_id"]) for a in alerts] == [("fork", tab.device_id)]
    assert "fork" in _run(site, capsys, "alerts")[1]
    assert _run(site, capsys, "verify")[0] == 0  # the alert is itself a valid server entry


def test_restored_backup_reports_lower_cursor_and_takes_the_resend(
    site: dict, capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    if store_url.startswith("postgresql"):
        pytest.skip("file-copy backup is the SQLite deployment's procedure")
    tab = _tablet_with_entries(site, 3)
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(store_url) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    assert tab.push(tab.make(4)).status_code == 200
    assert tab.get("/v1/cursor").json()["ledger"]["seq"] == 7
    site["core"].store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(store_url + suffix).unlink(missing_ok=True)
    shutil.copy(backup, store_url)
    core = ServerCore(config.open_store(store_url), config.load_server_key(site["data"]))
    with TestClient(create_app(core), base_url="https://testserver") as client:
        tab.http = client
        tab.authenticate()
        cursor = tab.get("/v1/cursor").json()
        assert cursor["ledger"]["seq"] == 3
        assert cursor["ledger"]["digest"] == tab.entries[2].digest
        resend = [e for e in tab.entries if e.chain == "ledger" and e.seq > 3]
        assert tab.push(resend).json()["heads"]["ledger"] == 7
    core.store.close()
    site["core"] = ServerCore(config.open_store(store_url), config.load_server_key(site["data"]))
    assert _run(site, capsys, "verify")[0] == 0


def test_help_documents_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "MAR_SERVER_DB" in out
    assert "MAR_SERVER_DATA" in out
    assert "0600" in out


def test_serve_refuses_plain_http(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--data", str(tmp_path), "serve", "--host", "0.0.0.0"]
    assert main(args) == 7
    assert main([*args, "--insecure-http-loopback"]) == 7
    assert "loopback" in capsys.readouterr().err


def test_history_days_default_set_and_refused(
    site: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    """How much history a new tablet fetches: 400 days unless the facility sets otherwise; the
    snapshot's signed manifest carries it (SQLite and PostgreSQL)."""
    from sync.server.snapshot import build_snapshot

    code, out = _run(site, capsys, "history-days", "--json")
    assert code == 0 and json.loads(out)["history_days"] == 400
    code, out = _run(site, capsys, "history-days", "--days", "90", "--json")
    assert code == 0 and json.loads(out)["history_days"] == 90
    facility_id = site["init"]["facility_id"]
    assert build_snapshot(site["core"], facility_id).manifest.history_days == 90
    code, out = _run(site, capsys, "history-days", "--days", "0")
    assert code != 0 and "at least 1" in out
