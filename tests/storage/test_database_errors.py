"""connect()/open_database(): each failure has its own error and leaves every file as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3

from mar_desktop.errors import (
    DatabaseMissing,
    DiskFull,
    KeyMissing,
    NotADatabase,
    ReadOnlyStorage,
    StorageError,
    WrongKey,
)
from storage import database
from storage.database import connect, open_database
from storage.database_errors import storage_errors, translate
from storage.keystore import KeyStore
from tests.conftest import MemoryKeyring

MARKER = "ZZMARKER-Resident-Name"
OTHER_KEY = bytes(range(100, 132))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` (recursively) with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _fill(conn: database.Connection, rows: int = 40) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS resident (id INTEGER PRIMARY KEY, name TEXT)")
    for i in range(rows):
        conn.execute("INSERT INTO resident (name) VALUES (?)", (f"{MARKER}-{i:04d}" * 10,))


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this may not be skipped)")
    pytest.skip(reason)


@pytest.fixture
def closed_db(tmp_path: Path, db_key: bytes) -> Path:
    """A database folder holding only a checkpointed, closed ``mar.db``."""
    folder = tmp_path / "closed"
    folder.mkdir()
    conn = connect(folder / "mar.db", db_key, create=True)
    _fill(conn)
    conn.close()
    assert sorted(os.listdir(folder)) == ["mar.db"]
    return folder


@pytest.fixture
def crashed_db(tmp_path: Path, db_key: bytes) -> Path:
    """A folder with ``mar.db``, ``-wal`` and ``-shm`` as a crash would leave them."""
    live = tmp_path / "live"
    live.mkdir()
    conn = connect(live / "mar.db", db_key, create=True)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    _fill(conn)
    folder = tmp_path / "crashed"
    folder.mkdir()
    for name in os.listdir(live):
        shutil.copy2(live / name, folder / name)
    conn.close()
    assert sorted(os.listdir(folder)) == ["mar.db", "mar.db-shm", "mar.db-wal"]
    assert (folder / "mar.db-wal").stat().st_size > 0
    return folder


# --- wrong key -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["closed_db", "crashed_db"])
def test_wrong_key_is_refused_and_touches_nothing(
    request: pytest.FixtureRequest, kind: str, db_key: bytes
) -> None:
    folder: Path = request.getfixturevalue(kind)
    before = snapshot(folder)
    for create in (False, True):
        with pytest.raises(WrongKey):
            connect(folder / "mar.db", OTHER_KEY, create=create)
        assert snapshot(folder) == before
    # The right key still sees every row, including those only in the WAL.
    conn = connect(folder / "mar.db", db_key)
    assert conn.execute("SELECT count(*) FROM resident").fetchone() == (40,)
    conn.close()


def test_wrong_key_through_open_database(crashed_db: Path, memory_keyring: MemoryKeyring) -> None:
    store = KeyStore(crashed_db)
    memory_keyring.set_password("mar-desktop", store.key_name, OTHER_KEY.hex())
    before = snapshot(crashed_db)
    with pytest.raises(WrongKey):
        open_database(crashed_db, store, create=True)
    assert snapshot(crashed_db) == before


# --- missing key / missing database ---------------------------------------------------------------
def test_key_missing_leaves_database_untouched(
    crashed_db: Path, memory_keyring: MemoryKeyring
) -> None:
    before = snapshot(crashed_db)
    for create in (False, True):
        with pytest.raises(KeyMissing):
            open_database(crashed_db, KeyStore(crashed_db), create=create)
        assert snapshot(crashed_db) == before
    assert memory_keyring.store == {}  # no key was made for an existing database


def test_missing_database_is_not_created_unless_asked(
    tmp_path: Path, db_key: bytes, memory_keyring: MemoryKeyring
) -> None:
    with pytest.raises(DatabaseMissing):
        connect(tmp_path / "mar.db", db_key)
    with pytest.raises(DatabaseMissing):
        open_database(tmp_path / "data", KeyStore(tmp_path / "data"), create=False)
    assert os.listdir(tmp_path) == []
    assert memory_keyring.store == {}


def test_open_database_creates_then_reuses(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    data = tmp_path / "data"
    conn = open_database(data, KeyStore(data), create=True)
    _fill(conn, rows=3)
    conn.close()
    assert (data / "mar.db").is_file()
    assert len(memory_keyring.store) == 1
    conn = open_database(data, KeyStore(data), create=False)
    assert conn.execute("SELECT count(*) FROM resident").fetchone() == (3,)
    conn.close()
    assert len(memory_keyring.store) == 1


def test_open_database_reuses_a_stored_key_when_creating(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    data = tmp_path / "data"
    key = KeyStore(data).create_new()
    open_database(data, KeyStore(data), create=True).close()
    connect(data / "mar.db", key).close()
    assert list(memory_keyring.store.values()) == [key.hex()]


# --- not a database ------------------------------------------------------------------------------
def _plaintext_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE resident (name TEXT)")
    conn.execute("INSERT INTO resident VALUES (?)", (MARKER,))
    conn.commit()
    conn.close()


def _make_bad_file(kind: str, path: Path, source: Path) -> None:
    if kind == "text":
        path.write_text("Resident list\nnot a database\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(source.read_bytes()[:5000])
    elif kind == "truncated_at_page":
        path.write_bytes(source.read_bytes()[: 4096 * 2])
    elif kind == "plaintext_sqlite":
        _plaintext_sqlite(path)
    elif kind == "directory":
        path.mkdir()
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["text", "empty", "truncated", "truncated_at_page", "plaintext_sqlite", "directory"]
)
def test_not_a_database(
    tmp_path: Path, closed_db: Path, db_key: bytes, kind: str, memory_keyring: MemoryKeyring
) -> None:
    assert (closed_db / "mar.db").stat().st_size > 4096 * 3
    folder = tmp_path / "bad"
    folder.mkdir()
    _make_bad_file(kind, folder / "mar.db", closed_db / "mar.db")
    store = KeyStore(folder)
    memory_keyring.set_password("mar-desktop", store.key_name, db_key.hex())
    before = snapshot(folder)
    listing = sorted(os.listdir(folder))
    for create in (False, True):
        with pytest.raises(NotADatabase):
            connect(folder / "mar.db", db_key, create=create)
        with pytest.raises(NotADatabase):
            open_database(folder, store, create=create)
        assert snapshot(folder) == before
        assert sorted(os.listdir(folder)) == listing
    assert len(memory_keyring.store) == 1


def test_plaintext_database_is_refused_even_with_wal(tmp_path: Path, db_key: bytes) -> None:
    path = tmp_path / "mar.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE resident (name TEXT)")
    conn.commit()
    before = snapshot(tmp_path)
    with pytest.raises(NotADatabase, match="unencrypted"):
        connect(path, db_key)
    assert snapshot(tmp_path) == before
    conn.close()


def test_leftover_wal_without_database_is_not_overwritten(tmp_path: Path, db_key: bytes) -> None:
    (tmp_path / "mar.db-wal").write_bytes(b"\x37\x7f\x06\x82" + bytes(60))
    before = snapshot(tmp_path)
    with pytest.raises(NotADatabase, match="Leftover"):
        connect(tmp_path / "mar.db", db_key, create=True)
    assert snapshot(tmp_path) == before


# --- disk full -----------------------------------------------------------------------------------
@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted inside tmp_path, unmounted after."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)],
            capture_output=True,
            check=False,
        )
    except OSError:
        done = None
    if done is None or done.returncode != 0:
        _skip_or_fail("cannot mount a small tmpfs here (needs root on Linux)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill_disk(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_disk_full_on_write_is_disk_full_and_keeps_committed_rows(
    small_tmpfs: Path, db_key: bytes
) -> None:
    (small_tmpfs / "filler").write_bytes(bytes(256 * 1024))  # freed later to reopen
    path = small_tmpfs / "mar.db"
    conn = connect(path, db_key, create=True)
    conn.execute("CREATE TABLE resident (id INTEGER PRIMARY KEY, name TEXT)")
    saved = 0
    error: Exception | None = None
    for _ in range(10_000):
        try:
            with storage_errors():
                conn.execute("INSERT INTO resident (name) VALUES (?)", (MARKER * 100,))
        except Exception as exc:
            error = exc
            break
        saved += 1
    assert isinstance(error, DiskFull)
    assert saved > 10
    conn.close()
    (small_tmpfs / "filler").unlink()
    conn = connect(path, db_key)
    assert conn.execute("SELECT count(*) FROM resident").fetchone() == (saved,)
    conn.close()


def test_disk_full_when_creating_leaves_no_file(small_tmpfs: Path, db_key: bytes) -> None:
    _fill_disk(small_tmpfs)
    listing = sorted(os.listdir(small_tmpfs))
    with pytest.raises(DiskFull):
        connect(small_tmpfs / "mar.db", db_key, create=True)
    assert sorted(os.listdir(small_tmpfs)) == listing


def test_existing_database_on_a_full_disk_is_disk_full_and_untouched(
    small_tmpfs: Path, db_key: bytes
) -> None:
    path = small_tmpfs / "mar.db"
    conn = connect(path, db_key, create=True)
    _fill(conn, rows=5)
    conn.close()
    _fill_disk(small_tmpfs)
    before = snapshot(small_tmpfs)
    # SQLite cannot even size the -shm of a WAL database on a full disk: opening is DiskFull.
    with pytest.raises(DiskFull):
        connect(path, db_key)
    assert snapshot(small_tmpfs) == before
    (small_tmpfs / "filler").unlink()
    conn = connect(path, db_key)
    assert conn.execute("SELECT count(*) FROM resident").fetchone() == (5,)
    conn.close()


def test_max_page_count_maps_to_disk_full(closed_db: Path, db_key: bytes) -> None:
    conn = connect(closed_db / "mar.db", db_key)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(DiskFull) as info, storage_errors():
        conn.execute("INSERT INTO resident (name) VALUES (?)", (MARKER * 5000,))
    assert MARKER not in str(info.value)
    assert isinstance(info.value.__cause__, sqlcipher3.Error)
    conn.close()


# --- read-only -----------------------------------------------------------------------------------
@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[Path]]:
    """Files appended to the yielded list get ``chattr +i`` by the test; cleared after."""
    marked: list[Path] = []
    yield marked
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def _chattr_immutable(path: Path, marked: list[Path]) -> None:
    try:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    except OSError:
        done = None
    if done is None or done.returncode != 0:
        _skip_or_fail("chattr +i is not available on this file system")
    marked.append(path)


@pytest.mark.parametrize("target", ["mar.db", "mar.db-wal", "mar.db-shm", "."])
def test_immutable_file_or_folder_is_read_only_storage(
    crashed_db: Path, db_key: bytes, immutable: list[Path], target: str
) -> None:
    before = snapshot(crashed_db)
    _chattr_immutable(crashed_db / target, immutable)
    with pytest.raises(ReadOnlyStorage):
        connect(crashed_db / "mar.db", db_key)
    assert snapshot(crashed_db) == before


@pytest.fixture
def read_only_mount(closed_db: Path) -> Iterator[Path]:
    """``closed_db`` bind-mounted read-only over itself."""
    steps = [
        ["mount", "--bind", str(closed_db), str(closed_db)],
        ["mount", "-o", "remount,bind,ro", str(closed_db)],
    ]
    mounted = False
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, check=False)
        except OSError:
            done = None
        if done is None or done.returncode != 0:
            if mounted:
                subprocess.run(["umount", "-l", str(closed_db)], check=False)
            _skip_or_fail("cannot make a read-only bind mount here (needs root on Linux)")
        mounted = True
    try:
        yield closed_db
    finally:
        subprocess.run(["umount", "-l", str(closed_db)], check=False)


def test_read_only_mount_is_read_only_storage(read_only_mount: Path, db_key: bytes) -> None:
    before = snapshot(read_only_mount)
    with pytest.raises(ReadOnlyStorage):
        connect(read_only_mount / "mar.db", db_key)
    with pytest.raises(ReadOnlyStorage):
        connect(read_only_mount / "new.db", db_key, create=True)
    assert snapshot(read_only_mount) == before


def test_sqlite_readonly_maps_to_read_only_storage(closed_db: Path, db_key: bytes) -> None:
    conn = connect(closed_db / "mar.db", db_key)
    conn.execute("PRAGMA query_only = ON")
    with pytest.raises(ReadOnlyStorage), storage_errors():
        conn.execute("INSERT INTO resident (name) VALUES ('x')")
    conn.close()


# --- translation ---------------------------------------------------------------------------------
def test_translation_uses_error_codes(closed_db: Path, db_key: bytes) -> None:
    conn = connect(closed_db / "mar.db", db_key)
    with pytest.raises(sqlcipher3.OperationalError) as info:
        conn.execute("SELECT * FROM no_such_table")
    assert translate(info.value) is None  # programming errors pass through
    with pytest.raises(sqlcipher3.OperationalError), storage_errors():
        conn.execute("SELECT * FROM no_such_table")
    conn.close()
    coded = sqlcipher3.OperationalError("some text")
    coded.sqlite_errorcode = 13  # type: ignore[attr-defined]
    assert isinstance(translate(coded), DiskFull)
    coded.sqlite_errorcode = 8 | (1 << 8)  # SQLITE_READONLY_RECOVERY, an extended code
    assert isinstance(translate(coded), ReadOnlyStorage)


def test_translation_falls_back_to_message_without_codes() -> None:
    assert isinstance(translate(sqlcipher3.OperationalError("database or disk is full")), DiskFull)
    assert isinstance(
        translate(sqlcipher3.OperationalError("attempt to write a readonly database")),
        ReadOnlyStorage,
    )
    assert isinstance(translate(sqlcipher3.DatabaseError("file is not a database")), NotADatabase)
    assert translate(ValueError("database or disk is full")) is None


def test_bad_key_length_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32"):
        connect(tmp_path / "mar.db", b"short", create=True)
    assert os.listdir(tmp_path) == []


def test_all_errors_are_storage_errors() -> None:
    for cls in (DatabaseMissing, KeyMissing, WrongKey, NotADatabase, DiskFull, ReadOnlyStorage):
        assert issubclass(cls, StorageError)


def test_failed_creation_removes_what_it_made(
    tmp_path: Path, db_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_configure(conn: database.Connection, key: bytes) -> None:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (x)")
        raise sqlcipher3.OperationalError("database or disk is full")

    monkeypatch.setattr(database, "_configure", failing_configure)
    with pytest.raises(DiskFull):
        connect(tmp_path / "mar.db", db_key, create=True)
    assert os.listdir(tmp_path) == []


def test_connecting_while_another_connection_checkpoints_never_cries_wrong_key(
    closed_db: Path, db_key: bytes
) -> None:
    import threading

    writer = connect(closed_db / "mar.db", db_key)
    writer.execute("PRAGMA wal_autocheckpoint = 1")  # checkpoint (rewrite page 1) constantly
    stop = threading.Event()

    def write() -> None:
        own = connect(closed_db / "mar.db", db_key)
        while not stop.is_set():
            own.execute("INSERT INTO resident (name) VALUES ('x')")
        own.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for _ in range(40):
            connect(closed_db / "mar.db", db_key).close()
    finally:
        stop.set()
        thread.join()
        writer.close()


def test_a_transient_key_check_failure_is_retried(
    closed_db: Path, db_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = database._prove_key_once
    calls: list[int] = []

    def flaky(path: Path, key: bytes) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise WrongKey("torn read")
        real(path, key)

    monkeypatch.setattr(database, "_prove_key_once", flaky)
    connect(closed_db / "mar.db", db_key).close()
    assert len(calls) == 2
