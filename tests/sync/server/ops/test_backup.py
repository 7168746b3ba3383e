"""Encrypted online backups: make, check, restore, refuse tampering and wrong keys, prune."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.server import backup, cli, migrations, opsdb
from sync.server import backup_crypto as bc
from tests.sync.server.conftest import Server


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "backup.key"
    bc.generate_key_file(path)
    return path


def run(server: Server, store_url: str, *args: str) -> int:
    return cli.main(["--data", str(server.data), "--db", store_url, *args])


def make_backup(server: Server, store_url: str, key_file: Path, out: Path) -> Path:
    assert run(server, store_url, "backup", "--out", str(out), "--key-file", str(key_file)) == 0
    found = backup.list_backups(out)
    assert found
    return found[-1][1]


def test_backup_is_encrypted_with_a_manifest_and_checks_ok(
    server: Server,
    store_url: str,
    key_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tab = server.tablet()
    entries = tab.make(5)
    assert tab.push(entries).status_code == 200
    path = make_backup(server, store_url, key_file, tmp_path / "backups")
    out = capsys.readouterr().out
    assert bc.load_key(key_file).hex() not in out
    raw = path.read_bytes()
    assert raw.startswith(bc.MAGIC)
    assert entries[0].id.encode() not in raw  # encrypted, not just compressed
    manifest = json.loads(backup.manifest_path(path).read_text())
    kind = "postgres" if store_url.startswith("postgresql") else "sqlite"
    assert manifest["store"] == kind
    newest = migrations.POSTGRES if kind == "postgres" else migrations.SQLITE
    assert manifest["schema_version"] == max(version for version, _ in newest)
    assert manifest["entry_counts"][server.facility_id]["ledger"] == 5 + 2  # + facility, device
    assert manifest["key_id"] == bc.key_id(bc.load_key(key_file))
    assert set(manifest) >= {"created_at", "server_version", "sha256", "size", "mac"}

    assert run(server, store_url, "backup", "check", str(path), "--key-file", str(key_file)) == 0
    out = capsys.readouterr().out
    assert "OK: 7 entries in 2 chains verified" in out


def test_tampered_backup_and_wrong_key_are_refused(
    server: Server,
    store_url: str,
    key_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tab = server.tablet()
    assert tab.push(tab.make(3)).status_code == 200
    path = make_backup(server, store_url, key_file, tmp_path / "backups")
    key = bc.load_key(key_file)
    good = path.read_bytes()

    # one byte flipped in the middle: the checksum no longer matches the manifest
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x01
    path.write_bytes(bytes(bad))
    assert run(server, store_url, "backup", "check", str(path), "--key-file", str(key_file)) == 5
    assert "checksum mismatch" in capsys.readouterr().err
    target = tmp_path / "fresh.sqlite3"
    code = cli.main(
        [
            *("--data", str(tmp_path / "fresh-data"), "--db", str(target), "restore"),
            *("--from", str(path), "--key-file", str(key_file)),
        ]
    )
    assert code == 5
    assert not target.exists()

    # an attacker who also fixes the checksum cannot forge the manifest's MAC ...
    manifest_file = backup.manifest_path(path)
    manifest = json.loads(manifest_file.read_text())
    manifest["sha256"] = backup._sha256(path)
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(backup.IntegrityError, match=r"manifest .* was altered"):
        backup.verify_file(path, key)
    # ... and with a valid manifest the altered chunk itself fails authentication
    fields = {k: v for k, v in manifest.items() if k != "mac"}
    manifest_file.write_text(json.dumps({**fields, "mac": bc.manifest_mac(key, fields)}))
    with pytest.raises(backup.IntegrityError, match="altered or is damaged"):
        backup.check(path, key, pg_admin_dsn=store_url)

    # a wrong key is named as such, without showing either key
    path.write_bytes(good)
    other = tmp_path / "other.key"
    bc.generate_key_file(other)
    assert run(server, store_url, "backup", "check", str(path), "--key-file", str(other)) == 6
    err = capsys.readouterr().err
    assert "wrong backup key" in err
    assert bc.key_id(key) in err
    assert key.hex() not in err
    assert bc.load_key(other).hex() not in err


def test_truncated_backup_is_refused(server: Server, store_url: str, key_file: Path) -> None:
    path = make_backup(server, store_url, key_file, server.data.parent / "b")
    key = bc.load_key(key_file)
    data = path.read_bytes()
    with path.open("rb") as inp:
        bc.decrypt_stream(inp, key, _Null())
    for cut in (data[:-7], data[: len(data) - 3000], data + b"\0"):
        path.write_bytes(cut)
        with pytest.raises(backup.IntegrityError), path.open("rb") as inp:
            bc.decrypt_stream(inp, key, _Null())


class _Null:
    def write(self, data: bytes, /) -> int:
        return len(data)


def test_backup_while_serving_is_consistent(
    server: Server, store_url: str, key_file: Path, tmp_path: Path
) -> None:
    tablets = [server.tablet(label=f"cart-{i}") for i in range(2)]
    stop = threading.Event()
    failures: list[str] = []

    def keep_pushing(tab: object) -> None:
        while not stop.is_set():
            resp = tab.push(tab.make(20))  # type: ignore[attr-defined]
            if resp.status_code != 200:
                failures.append(resp.text)

    workers = [threading.Thread(target=keep_pushing, args=(t,)) for t in tablets]
    for w in workers:
        w.start()
    try:
        while sum(len(t.entries) for t in tablets) < 100:
            threading.Event().wait(0.01)
        made = [
            backup.create_backup(store_url, server.data, tmp_path / "b", bc.load_key(key_file))
            for _ in range(2)
        ]
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert not failures
    key = bc.load_key(key_file)
    for item in made:
        result = backup.check(item.path, key, pg_admin_dsn=store_url)
        assert result.report.ok, result.report.summary()
        assert result.counts_match  # the manifest describes exactly the snapshot
    first = made[0].manifest["entry_counts"][server.facility_id]["ledger"]
    second = made[1].manifest["entry_counts"][server.facility_id]["ledger"]
    final = opsdb.entry_counts(server.store)[server.facility_id]["ledger"]
    assert 60 <= first <= second <= final
    assert first < final  # pushes went on being stored while the backups ran


def test_restore_refuses_a_database_with_data_unless_forced_with_a_safety_backup(
    server: Server,
    store_url: str,
    key_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tab = server.tablet()
    assert tab.push(tab.make(2)).status_code == 200
    path = make_backup(server, store_url, key_file, tmp_path / "backups")
    assert tab.push(tab.make(3)).status_code == 200
    live = opsdb.entry_counts(server.store)
    backed_up = json.loads(backup.manifest_path(path).read_text())["entry_counts"]
    server.store.close()
    args = ["restore", "--from", str(path), "--key-file", str(key_file)]
    assert run(server, store_url, *args) == 1  # Conflict: nothing changed
    assert "not empty" in capsys.readouterr().err
    safety = tmp_path / "safety"
    assert run(server, store_url, *args, "--force", "--safety-dir", str(safety)) == 0
    out = capsys.readouterr().out
    assert "safety backup" in out
    total = sum(sum(chains.values()) for chains in backed_up.values())
    assert f"OK: {total} entries in " in out  # the database now is the backup's
    (kept,) = backup.list_backups(safety)
    manifest = json.loads(backup.manifest_path(kept[1]).read_text())
    assert manifest["entry_counts"] == live  # the safety backup holds what was replaced


def test_restore_into_an_empty_target_brings_the_server_key(
    server: Server, key_file: Path, tmp_path: Path, store_url: str
) -> None:
    if store_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL restore path is covered by the drill and the force test")
    path = make_backup(server, store_url, key_file, tmp_path / "backups")
    data, db = tmp_path / "new-data", tmp_path / "new.sqlite3"
    args = ["--data", str(data), "--db", str(db), "restore", "--from", str(path)]
    assert cli.main([*args, "--key-file", str(key_file)]) == 0
    assert (data / "server-signing.key").read_text() == (
        server.data / "server-signing.key"
    ).read_text()
    assert (data / "server-signing.key").stat().st_mode & 0o077 == 0
    assert cli.main(["--data", str(data), "--db", str(db), "verify"]) == 0


def test_missing_pg_dump_is_a_clear_error(
    server: Server,
    store_url: str,
    key_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite backups need no external tool")
    monkeypatch.setenv("MAR_PG_BIN", str(tmp_path / "no-tools"))
    args = ["backup", "--out", str(tmp_path / "b"), "--key-file", str(key_file)]
    assert run(server, store_url, *args) == 6
    assert "pg_dump not found" in capsys.readouterr().err
    assert not list((tmp_path / "b").glob("*"))  # no partial file left behind


def test_prune_cli_applies_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    now = datetime.now(UTC)
    names = []
    for days in (0, 1, 40, 41, 70, 3000):
        at = now - timedelta(days=days)
        name = f"mar-backup-{at:%Y%m%dT%H%M%SZ}.marbak"
        (folder / name).write_bytes(b"x")
        (folder / name.replace(".marbak", ".manifest.json")).write_text("{}")
        names.append(name)
    (folder / "notes.txt").write_text("not a backup")
    assert cli.main(["backup", "prune", "--dir", str(folder), "--dry-run"]) == 0
    assert len(list(folder.glob("*.marbak"))) == 6
    assert cli.main(["backup", "prune", "--dir", str(folder)]) == 0
    left = sorted(p.name for p in folder.glob("*.marbak"))
    assert names[0] in left and names[1] in left
    assert names[5] not in left  # 3000 days: beyond 7 years
    assert not (folder / names[5].replace(".marbak", ".manifest.json")).exists()
    assert (folder / "notes.txt").exists()
    assert "deleted" in capsys.readouterr().out
