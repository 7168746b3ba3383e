"""Encryption at rest: no plaintext on disk, tampering detected, settings as
docs/architecture.md#at-rest says."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from mar_desktop.errors import StorageError
from storage import database
from storage.database import check_cipher, check_library, connect
from storage.database_errors import storage_errors

MARKER = "ZZMARKER-Resident-Name"
PAGE = 4096


def _files(path: Path) -> list[Path]:
    return [path, *database.side_files(path)]


def _assert_no_plaintext(path: Path) -> None:
    needles = [MARKER.encode("utf-8"), MARKER.encode("utf-16-le"), b"ZZMARKER", b"resident"]
    for file in _files(path):
        if not file.exists():
            continue
        raw = file.read_bytes()
        for needle in needles:
            assert needle not in raw, f"{needle!r} found in {file.name}"
        assert not raw.startswith(b"SQLite format 3")


def _write_phi(conn: database.Connection, rows: int = 60) -> None:
    conn.execute("CREATE TABLE resident (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    conn.execute("CREATE INDEX resident_name ON resident (name)")
    for i in range(rows):
        conn.execute("INSERT INTO resident (name) VALUES (?)", (f"{MARKER} {i:03d} " * 5,))


def test_phi_absent_from_db_wal_and_shm_while_open_and_after_close(
    tmp_path: Path, db_key: bytes
) -> None:
    path = tmp_path / "mar.db"
    conn = connect(path, db_key, create=True)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    _write_phi(conn)
    assert all(f.exists() for f in _files(path))
    assert database.side_files(path)[0].stat().st_size > PAGE  # the rows are in the WAL now
    _assert_no_plaintext(path)
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # and in the main file too
    assert path.stat().st_size > PAGE * 3
    _assert_no_plaintext(path)
    conn.close()
    _assert_no_plaintext(path)
    # The data really is there: the right key reads it back.
    conn = connect(path, db_key)
    assert conn.execute("SELECT count(*) FROM resident WHERE name LIKE 'ZZMARKER%'").fetchone() == (
        60,
    )
    conn.close()


def test_new_database_is_private_to_its_owner(tmp_path: Path, db_key: bytes) -> None:
    path = tmp_path / "mar.db"
    conn = connect(path, db_key, create=True)
    _write_phi(conn, rows=1)
    for file in _files(path):
        assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, file.name
    conn.close()


def _read_everything(path: Path, key: bytes) -> None:
    with storage_errors(path.parent):
        conn = connect(path, key)
        try:
            conn.execute("SELECT * FROM resident").fetchall()
            conn.execute("SELECT name FROM resident INDEXED BY resident_name").fetchall()
            result = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    if result != [("ok",)]:
        raise StorageError("integrity check failed")


def test_flipping_one_byte_of_any_page_is_detected(tmp_path: Path, db_key: bytes) -> None:
    source = tmp_path / "src" / "mar.db"
    source.parent.mkdir()
    conn = connect(source, db_key, create=True)
    _write_phi(conn)
    conn.close()
    original = source.read_bytes()
    pages = len(original) // PAGE
    assert pages >= 4
    _read_everything(source, db_key)  # intact: reads fine
    # One offset inside the encrypted data, one in the per-page IV/HMAC reserve.
    offsets = [(page, where) for page in range(pages) for where in (PAGE // 2, PAGE - 10)]
    for page, where in offsets:
        case = tmp_path / f"p{page}-{where}"
        case.mkdir()
        damaged = bytearray(original)
        damaged[page * PAGE + where] ^= 0x01
        (case / "mar.db").write_bytes(bytes(damaged))
        with pytest.raises(StorageError):
            _read_everything(case / "mar.db", db_key)
        assert (case / "mar.db").read_bytes() == bytes(damaged)  # left as it was
        shutil.rmtree(case)


def test_connection_settings(tmp_path: Path, db_key: bytes) -> None:
    conn = connect(tmp_path / "mar.db", db_key, create=True)

    def value(pragma: str) -> Any:
        return conn.execute(f"PRAGMA {pragma}").fetchone()[0]

    assert value("journal_mode") == "wal"
    assert value("synchronous") == 2  # FULL
    assert value("foreign_keys") == 1
    assert value("temp_store") == 2  # MEMORY
    assert value("busy_timeout") == database.BUSY_TIMEOUT_MS
    assert str(value("cipher_memory_security")) == "0"  # SQLCipher's default; see connect()
    assert value("cipher_page_size") in (4096, "4096")
    assert conn.isolation_level is None
    conn.close()


def test_installed_sqlcipher_passes_the_library_check() -> None:
    check_library()


class _FakeConn:
    def __init__(self, version: str, settings: dict[str, str]) -> None:
        self.version = version
        self.settings = settings

    def execute(self, sql: str) -> _FakeConn:
        self.last = sql
        return self

    def fetchone(self) -> tuple[str]:
        return (self.version,)

    def fetchall(self) -> list[tuple[str]]:
        return [(f"PRAGMA {k} = {v};",) for k, v in self.settings.items()]


GOOD = {
    "kdf_iter": "256000",
    "cipher_page_size": "4096",
    "cipher_use_hmac": "1",
    "cipher_plaintext_header_size": "0",
    "cipher_hmac_algorithm": "HMAC_SHA512",
    "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512",
}


def test_cipher_check_accepts_version_4_with_design_settings() -> None:
    check_cipher(_FakeConn("4.6.1 community", GOOD))
    check_cipher(_FakeConn("5.0.0 community", GOOD))


@pytest.mark.parametrize("version", ["3.4.2 community", "", "garbage"])
def test_cipher_check_refuses_old_or_unknown_versions(version: str) -> None:
    with pytest.raises(StorageError, match="SQLCipher"):
        check_cipher(_FakeConn(version, GOOD))


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("cipher_hmac_algorithm", "HMAC_SHA1"),
        ("cipher_page_size", "1024"),
        ("cipher_use_hmac", "0"),
        ("cipher_plaintext_header_size", "32"),
    ],
)
def test_cipher_check_refuses_other_settings(name: str, bad: str) -> None:
    with pytest.raises(StorageError, match=name):
        check_cipher(_FakeConn("4.6.1 community", {**GOOD, name: bad}))


def test_library_is_checked_before_any_file_is_touched(
    tmp_path: Path, db_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def too_old() -> None:
        raise StorageError("SQLCipher too old")

    monkeypatch.setattr(database, "check_library", too_old)
    with pytest.raises(StorageError, match="too old"):
        connect(tmp_path / "mar.db", db_key, create=True)
    assert os.listdir(tmp_path) == []


def test_paths_with_uri_special_characters_open_the_same_file(
    tmp_path: Path, db_key: bytes
) -> None:
    folder = tmp_path / "ward a?b#c%20d"
    folder.mkdir()
    conn = connect(folder / "mar.db", db_key, create=True)
    _write_phi(conn, rows=2)
    conn.close()
    conn = connect(folder / "mar.db", db_key)
    assert conn.execute("SELECT count(*) FROM resident").fetchone() == (2,)
    conn.close()
    assert sorted(os.listdir(folder)) == ["mar.db"]
    assert sorted(os.listdir(tmp_path)) == ["ward a?b#c%20d"]
