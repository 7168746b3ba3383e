"""Opening the SQLCipher database (docs/architecture.md#at-rest).

``connect`` is the only way the project opens the local database; ``open_database`` adds the
data-folder conventions (file name, key store). Contract:

- Any thread may call them. A connection is used only by the thread that opened it
  (``check_same_thread``), except one opened with ``shared=True``: its owner (the ledger
  writer) lets several threads use it, strictly one at a time under its own lock.
- The SQLCipher library is checked first (major version ≥ 4; HMAC-SHA512 page HMAC on; page
  size 4096; no plaintext header), else :class:`StorageError`.
- An existing file is inspected and its key proved on an *immutable, read-only* connection
  that can neither write, checkpoint nor delete anything. Only then, and only after checking the
  file, its ``-wal``/``-shm`` and the folder are writable, is the read-write connection opened
  (URI ``mode=rw``, which never creates a file). So in every error case the database and its
  ``-wal``/``-shm`` are left byte-for-byte as they were, and no file is created beside them.
- A missing file is created (mode 0600, exclusively, never over anything) only when ``create``
  is true and no stray ``-wal``/``-shm``/``-journal`` lies where it would go; if creating fails,
  the files it made are removed again.
- The connection is in autocommit mode (``isolation_level=None``): callers issue ``BEGIN``
  themselves. PRAGMAs: raw key, ``temp_store=MEMORY``, ``foreign_keys=ON``,
  ``journal_mode=WAL``, ``synchronous=FULL``, ``busy_timeout``. ``cipher_memory_security`` is
  left at SQLCipher's default (OFF since 4.5, for performance): with it ON every trigger and
  projection write cost ~4x (the durable-record budget could not be met), and the raw key
  lives in this Python process's memory anyway, which that pragma cannot scrub.

Errors (all :class:`~mar_desktop.errors.StorageError`): ``DatabaseMissing``, ``KeyMissing``,
``WrongKey``, ``NotADatabase``, ``DiskFull``, ``ReadOnlyStorage``; later writes are mapped the
same way by :func:`storage.database_errors.storage_errors` / ``translate``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import sqlcipher3

from mar_desktop.errors import (
    DatabaseMissing,
    DiskFull,
    NotADatabase,
    ReadOnlyStorage,
    StorageError,
    WrongKey,
)
from storage.database_errors import (
    MSG_DAMAGED,
    MSG_DISK_FULL,
    MSG_NOT_A_DB,
    MSG_READ_ONLY,
    MSG_WRONG_KEY,
    SQLITE_NOTADB,
    code_from_message,
    disk_is_full,
    os_error,
    primary_code,
    translate,
)

log = logging.getLogger(__name__)

Connection = Any  # sqlcipher3.dbapi2.Connection has no type stubs
KEY_BYTES = 32
DB_FILENAME = "mar.db"
SIDE_SUFFIXES = ("-wal", "-shm")
PLAINTEXT_HEADER = b"SQLite format 3\x00"
FILE_SIZE_UNIT = 1024
BUSY_TIMEOUT_MS = 5000
PROVE_KEY_ATTEMPTS = 3
PROVE_KEY_RETRY_SECONDS = 0.02
REQUIRED_CIPHER_SETTINGS = {
    "cipher_page_size": "4096",
    "cipher_use_hmac": "1",
    "cipher_hmac_algorithm": "HMAC_SHA512",
    "cipher_plaintext_header_size": "0",
}

class KeySource(Protocol):
    """What :func:`open_database` needs from a key store (``storage.keystore.KeyStore``)."""

    def has_key(self) -> bool: ...

    def load_existing(self) -> bytes: ...

    def load_or_create(self) -> bytes: ...


# --- library checks ------------------------------------------------------------------------------
def _key_pragma(key: bytes) -> str:
    return f"PRAGMA key = \"x'{key.hex()}'\""


def check_cipher(conn: Connection) -> None:
    """Raises ``StorageError`` unless ``conn``'s SQLCipher is ≥ 4 with the settings of
    docs/architecture.md#at-rest.

    ``conn`` must already be keyed (SQLCipher answers these PRAGMAs only then).
    """
    row = conn.execute("PRAGMA cipher_version").fetchone()
    version = str(row[0]) if row else ""
    try:
        major = int(version.split(".", 1)[0])
    except ValueError:
        major = 0
    if major < 4:
        raise StorageError(
            "The installed SQLCipher library is missing or too old (version 4 or later is "
            "required). Reinstall MAR Desktop."
        )
    settings: dict[str, str] = {}
    for (line,) in conn.execute("PRAGMA cipher_settings").fetchall():
        # each line reads "PRAGMA name = value;"
        text = str(line).strip().removeprefix("PRAGMA ").rstrip(";")
        name, _, value = text.partition("=")
        settings[name.strip()] = value.strip()
    wrong = sorted(k for k, v in REQUIRED_CIPHER_SETTINGS.items() if settings.get(k) != v)
    if wrong:
        raise StorageError(
            "The SQLCipher library uses unexpected encryption settings ("
            + ", ".join(wrong)
            + "). Reinstall MAR Desktop."
        )


def check_library() -> None:
    """Checks the SQLCipher library on a throw-away in-memory connection (touches no file)."""
    conn = sqlcipher3.connect(":memory:")
    try:
        conn.execute(_key_pragma(bytes(KEY_BYTES)))
        check_cipher(conn)
    finally:
        conn.close()


# --- file checks ---------------------------------------------------------------------------------
def side_files(path: Path) -> list[Path]:
    """The ``-wal`` and ``-shm`` files that belong to the database at ``path``."""
    return [path.with_name(path.name + suffix) for suffix in SIDE_SUFFIXES]


def _uri(path: Path, params: str) -> str:
    return f"{path.absolute().as_uri()}?{params}"


def inspect_file(path: Path) -> None:
    """Raises ``NotADatabase`` unless ``path`` could be an SQLCipher database. Reads only.

    Refused: not a regular file, empty, size not a multiple of 1024 (unless a WAL holds pages
    of an interrupted checkpoint), or a plaintext SQLite header (an unencrypted database must
    never be used).
    """
    if not path.is_file():
        raise NotADatabase(MSG_NOT_A_DB)
    try:
        with path.open("rb") as fh:
            head = fh.read(len(PLAINTEXT_HEADER))
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise StorageError("The database file could not be read.") from exc
    wal = side_files(path)[0]
    has_wal = wal.is_file() and wal.stat().st_size > 0
    if size == 0 or (size % FILE_SIZE_UNIT != 0 and not has_wal):
        # With a WAL, an odd size may be a checkpoint cut short by a full disk: SQLite decides.
        raise NotADatabase(MSG_DAMAGED if size else MSG_NOT_A_DB)
    if head == PLAINTEXT_HEADER:
        raise NotADatabase(
            "This file is an unencrypted database, which MAR Desktop refuses to use. It was "
            "left untouched; contact your administrator."
        )


def prove_key(path: Path, key: bytes) -> None:
    """Raises ``WrongKey`` unless ``key`` decrypts ``path``; cannot change any file.

    A failure is re-checked a few times before it counts, because the immutable read takes no
    lock and could, in theory, see page 1 half-written by another connection's checkpoint.
    """
    for attempt in range(PROVE_KEY_ATTEMPTS):
        try:
            _prove_key_once(path, key)
        except WrongKey:
            if attempt == PROVE_KEY_ATTEMPTS - 1:
                raise
            time.sleep(PROVE_KEY_RETRY_SECONDS)
        else:
            return


def _prove_key_once(path: Path, key: bytes) -> None:
    """One attempt of :func:`prove_key`.

    Uses an ``immutable=1`` read-only connection: no locks, no WAL, no ``-shm``, no checkpoint
    on close (a read-write connection with a wrong key would checkpoint and delete the WAL).
    SQLCipher checks page 1's HMAC when it decrypts it: failing that is ``SQLITE_NOTADB``.
    """
    conn = sqlcipher3.connect(_uri(path, "mode=ro&immutable=1"), uri=True)
    try:
        conn.execute(_key_pragma(key))
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.Error as exc:
        code = primary_code(exc)
        if code == SQLITE_NOTADB or (code is None and code_from_message(exc) == SQLITE_NOTADB):
            raise WrongKey(MSG_WRONG_KEY) from exc
        # Page 1 decrypted, so the key is right. Anything else (e.g. a main file that looks
        # short because an interrupted checkpoint's pages are still in the WAL) is for the
        # read-write connection, which sees the WAL, to judge.
        log.info("key proved; the read-only check could not judge the rest of the file")
    finally:
        conn.close()


def check_writable(path: Path) -> None:
    """Raises ``ReadOnlyStorage`` unless the folder, the file and its side files are writable.

    Opens existing files for writing without writing to them (works for root too, where
    permission bits are ignored but immutable flags and read-only mounts still refuse).
    """
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReadOnlyStorage(MSG_READ_ONLY)
    for candidate in (path, *side_files(path)):
        try:
            fd = os.open(candidate, os.O_RDWR)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise os_error(exc, StorageError("The database file could not be opened.")) from exc
        os.close(fd)


# --- connecting ----------------------------------------------------------------------------------
def _configure(conn: Connection, key: bytes) -> None:
    conn.execute(_key_pragma(key))
    # Prove the key with a read before any PRAGMA that could write.
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA foreign_keys = ON")
    row = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if not row or str(row[0]).lower() != "wal":
        raise StorageError("The database could not be switched to write-ahead logging.")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _open_rw(path: Path, key: bytes, *, shared: bool) -> Connection:
    conn = sqlcipher3.connect(
        _uri(path, "mode=rw"), uri=True, isolation_level=None, check_same_thread=not shared
    )
    try:
        _configure(conn, key)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlcipher3.Error):
            mapped = translate(exc, path.parent)
            if mapped is not None:
                raise mapped from exc
        raise
    return conn


def check_space(folder: Path) -> None:
    """Raises ``DiskFull`` when the folder's disk has (almost) no space left.

    Checked before the read-write connection opens, because SQLite creates and sizes the
    ``-wal`` and ``-shm`` files first, and would leave them behind on a full disk.
    """
    if disk_is_full(folder):
        raise DiskFull(MSG_DISK_FULL)


def _open_existing(path: Path, key: bytes, *, shared: bool) -> Connection:
    inspect_file(path)
    prove_key(path, key)
    check_writable(path)
    check_space(path.parent)
    try:
        return _open_rw(path, key, shared=shared)
    except sqlcipher3.Error as exc:
        raise StorageError("The database could not be opened.") from exc


def _create(path: Path, key: bytes, *, shared: bool) -> Connection:
    folder = path.parent
    if not folder.is_dir():
        raise StorageError("The data folder does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReadOnlyStorage(MSG_READ_ONLY)
    leftovers = [*side_files(path), path.with_name(path.name + "-journal")]
    if any(p.exists() for p in leftovers):
        raise NotADatabase(
            "Leftover database files were found without their database. Nothing was changed; "
            "contact your administrator."
        )
    check_space(folder)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise StorageError("Another program created the database at the same time.") from exc
    except OSError as exc:
        raise os_error(exc, StorageError("The database file could not be created.")) from exc
    os.close(fd)
    try:
        conn = _open_rw(path, key, shared=shared)
        if path.stat().st_size == 0:  # WAL switch writes page 1; make sure it did
            raise StorageError("The new database could not be written.")
    except BaseException:
        for made in (path, *leftovers):
            with contextlib.suppress(FileNotFoundError):
                made.unlink()
        raise
    log.info("created a new encrypted database")
    return conn


def connect(
    path: Path, key: bytes, *, create: bool = False, shared: bool = False
) -> Connection:
    """Opens (or, with ``create``, creates) the encrypted database at ``path``.

    ``shared``: the connection may be used from any thread; the caller must then serialise
    every use of it (one lock around each statement sequence) — only the ledger writer does.

    Raises a :class:`~mar_desktop.errors.StorageError` subclass (``DatabaseMissing``,
    ``WrongKey``, ``NotADatabase``, ``DiskFull``, ``ReadOnlyStorage``); the files on disk are
    untouched then. ``ValueError`` if ``key`` is not 32 bytes (a programming error).
    """
    if len(key) != KEY_BYTES:
        raise ValueError("the database key is 32 raw bytes")
    check_library()
    if path.exists() or path.is_symlink():
        return _open_existing(path, key, shared=shared)
    if not create:
        raise DatabaseMissing("There is no MAR Desktop database in this data folder yet.")
    return _create(path, key, shared=shared)


def database_path(data_dir: Path) -> Path:
    """The database file of a data folder."""
    return data_dir / DB_FILENAME


def open_database(data_dir: Path, keystore: KeySource, *, create: bool) -> Connection:
    """Opens the database of ``data_dir`` with its key from ``keystore``.

    Existing database: the file is checked first (``NotADatabase``), then its key is loaded
    (``KeyMissing`` if the key store has none — the file stays untouched), then opened. Missing
    database: ``DatabaseMissing`` unless ``create``; with ``create`` the folder (0700) and the
    database are made, reusing a stored key of this folder or making a new one (a stored key is
    never replaced).
    """
    path = database_path(data_dir)
    if path.exists() or path.is_symlink():
        inspect_file(path)
        key = keystore.load_existing()
        return connect(path, key)
    if not create:
        raise DatabaseMissing("There is no MAR Desktop database in this data folder yet.")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, StorageError("The data folder could not be created.")) from exc
    key = keystore.load_or_create()
    return connect(path, key, create=True)


class PerThreadConnections:
    """One connection per calling thread, opened on first use with ``open_connection``.

    SQLite connections are used only on the thread that opened them; stores that are called
    from several threads (the GUI's worker, the sync thread) keep one each through this.
    ``close()`` closes the calling thread's connection; others close with their owners.
    """

    def __init__(self, open_connection: Callable[[], Connection]) -> None:
        self._open = open_connection
        self._local = threading.local()
        self._all: list[Connection] = []
        self._guard = threading.Lock()

    def conn(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._guard:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._guard:
                if conn in self._all:
                    self._all.remove(conn)
            conn.close()
