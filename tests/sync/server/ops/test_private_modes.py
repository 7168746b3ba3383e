"""Folders and files the server makes are 0700 / 0600 whatever the umask (issue 22 item 8):
the data folder and its database (a wider existing file is narrowed), the backup folder and
its files, a restored database's folder, key files and an audit export."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mar_desktop.private_files import private_dir
from sync.server import backup, cli, config
from sync.server import backup_crypto as bc
from sync.server import secrets_at_rest as sar


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_private_dir_makes_every_missing_parent_0700(tmp_path: Path, open_umask: None) -> None:
    os.chmod(tmp_path, 0o755)
    made = private_dir(tmp_path / "a" / "b" / "c")
    assert [mode(p) for p in (made, made.parent, made.parent.parent)] == [0o700] * 3
    assert mode(tmp_path) == 0o755  # what existed keeps its mode


def test_the_server_makes_only_private_files_under_umask_000(
    tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "srv" / "data"
    db = data / "mar-server.sqlite3"
    base = ["--data", str(data), "--db", str(db)]
    assert cli.main([*base, "init", "--facility-name", "Maple House"]) == 0
    keys = tmp_path / "keys" / "inner"
    bc.generate_key_file(keys / "backup.key")
    sar.generate_key_file(tmp_path / "secrets.key")
    backups = tmp_path / "off" / "backups"
    assert cli.main([*base, "backup", "--out", str(backups), "--key-file",
                     str(keys / "backup.key")]) == 0
    assert cli.main([*base, "audit", "--out", str(tmp_path / "exports" / "a.csv")]) == 0
    restored = tmp_path / "restored" / "db"
    (made,) = [p for _, p in backup.list_backups(backups)]
    assert cli.main(["--data", str(tmp_path / "restored-data"), "--db", str(restored / "x.db"),
                     "restore", "--from", str(made), "--key-file",
                     str(keys / "backup.key")]) == 0
    folders = [data, data.parent, keys, keys.parent, backups, backups.parent,
               tmp_path / "exports", restored, tmp_path / "restored-data"]
    files = [db, data / config.KEY_FILE, keys / "backup.key", tmp_path / "secrets.key",
             *backups.iterdir(), tmp_path / "exports" / "a.csv", restored / "x.db",
             tmp_path / "restored-data" / config.KEY_FILE]
    assert {str(p): oct(mode(p)) for p in folders if mode(p) != 0o700} == {}
    assert {str(p): oct(mode(p)) for p in files if mode(p) != 0o600} == {}


def test_a_database_file_made_wider_by_hand_is_narrowed(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    db.touch()
    db.chmod(0o644)
    store = config.open_store(str(db))
    try:
        store.migrate()
    finally:
        store.close()
    assert mode(db) == 0o600
