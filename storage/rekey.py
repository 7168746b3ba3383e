"""Re-encrypting the database under a new random key (``mar-desktop rekey``), crash-safe.

The design rests on two facts: SQLCipher 4's ``PRAGMA rekey`` works in WAL mode and rewrites
every page in ONE write transaction (so the database is entirely under the old key until that
transaction commits, and entirely under the new one after), and the key store can hold a second,
*pending* key beside the current one (:meth:`storage.keystore.KeyStore.store_pending`).

:func:`rekey` does, in this order:

1. Open the database with the current key (recovering from any earlier interrupted rekey
   first), checkpoint the WAL into the main file and take an EXCLUSIVE lock
   (``locking_mode=EXCLUSIVE`` plus a write transaction) that it holds until step 5. If any
   other connection has the database open (MAR Desktop running), this fails with
   :class:`DatabaseInUse` and nothing changed.
2. Make a new random 256-bit key and store it as the *pending* key (read back).
3. ``PRAGMA rekey``: every page is rewritten under the new key into the WAL and committed.
4. ``PRAGMA wal_checkpoint(TRUNCATE)``: the main file now holds only new-key pages (the
   key-proving read in :mod:`storage.database` reads the main file, not the WAL).
5. Check the data reads back under the new key; close (releasing the lock).
6. Promote: the new key overwrites the current entry (the old key is retired), then the
   pending entry is deleted.

Recovery (:func:`recover_interrupted_rekey`, the first step of opening the database:
:meth:`storage.local_store.LocalStore.open` and :func:`rekey` call it; it does something only
when a pending key exists, i.e. after an interrupted rekey): the current key and then the pending
key are tried on a read-write connection that sees the WAL (so a committed but not yet checkpointed
rekey is recognised). The one that opens the database wins: if it is the pending key, the WAL is
checkpointed and the pending key promoted; if it is the current key, the stale pending key is
deleted. So after a kill at ANY moment the database is under exactly one of {current, pending}
— never a key that is stored nowhere — and the next open uses the one the key store then
calls current. Trying a wrong key on a read-write connection is harmless: SQLite's checkpoint
copies WAL frames verbatim, never decrypting them.

Contract: call from a command-line process or a worker thread (blocks on the key store and on
I/O; a few seconds per 100 MB). Writes: the database file and its ``-wal``/``-shm``; the
current and pending keyring entries of the data folder. Raises :class:`DatabaseInUse`,
``KeyMissing``, ``WrongKey`` or another :class:`~mar_desktop.errors.StorageError`. Keys never
appear in logs or messages.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import sqlcipher3

from mar_desktop.errors import KeyMissing, StorageError, WrongKey
from storage.database import KEY_BYTES, Connection, connect, database_path, prove_key
from storage.database_errors import SQLITE_NOTADB, translate

log = logging.getLogger(__name__)

LOCK_WAIT_MS = 2000
Step = Callable[[str], None]


class DatabaseInUse(StorageError):
    """Another program (e.g. MAR Desktop itself) has the database open."""


class RekeyKeyStore(Protocol):
    """What rekeying and its recovery need from :class:`storage.keystore.KeyStore`."""

    data_dir: Path

    def load_current(self) -> bytes: ...

    def load_pending(self) -> bytes | None: ...

    def store_pending(self, key: bytes) -> None: ...

    def promote(self, key: bytes) -> None: ...

    def discard_pending(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RekeyResult:
    """What :func:`rekey` did (no key material)."""

    pages: int
    ledger_entries: int
    audit_entries: int


_IN_USE = (
    "The database is open in another program (is MAR Desktop running?). Close it and try "
    "again; nothing was changed."
)


def _noop(_step: str) -> None:
    return None


def _pragma_key(key: bytes, name: str = "key") -> str:
    return f"PRAGMA {name} = \"x'{key.hex()}'\""


def _counts(conn: Connection) -> tuple[int, int, int]:
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    ledger = int(conn.execute("SELECT count(*) FROM ledger").fetchone()[0])
    audit = int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])
    return pages, ledger, audit


def _lock_exclusively(conn: Connection) -> None:
    """Checkpoints, then holds an EXCLUSIVE lock until ``conn`` closes; DatabaseInUse if busy."""
    conn.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlcipher3.OperationalError as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise DatabaseInUse(_IN_USE) from exc
        raise
    if busy:
        raise DatabaseInUse(_IN_USE)


def rekey(keystore: RekeyKeyStore, *, on_step: Step | None = None) -> RekeyResult:
    """Re-encrypts the data folder's database under a new random key (see the module doc).

    ``on_step`` (tests) is called with ``"locked"``, ``"pending-stored"``, ``"rekeyed"``,
    ``"checkpointed"``, ``"closed"`` and ``"promoted"`` as each step completes.
    """
    step = on_step or _noop
    path = database_path(keystore.data_dir)
    old_key = recover_interrupted_rekey(keystore)
    conn = connect(path, old_key)
    try:
        try:
            _lock_exclusively(conn)
            step("locked")
            before = _counts(conn)
            new_key = secrets.token_bytes(KEY_BYTES)
            keystore.store_pending(new_key)
            step("pending-stored")
            conn.execute(_pragma_key(new_key, "rekey"))
            step("rekeyed")
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise DatabaseInUse(_IN_USE)
            step("checkpointed")
            after = _counts(conn)
        except sqlcipher3.Error as exc:
            mapped = translate(exc, path.parent)
            if mapped is not None:
                raise mapped from exc
            raise StorageError("The database could not be re-encrypted.") from exc
    finally:
        conn.close()
    step("closed")
    if after != before:
        raise StorageError("The re-encrypted database does not match the original.")
    prove_key(path, new_key)  # the main file itself is under the new key now
    keystore.promote(new_key)
    step("promoted")
    log.info("database re-encrypted under a new key (%d pages)", after[0])
    return RekeyResult(*after)


def _opens_with(path: Path, key: bytes) -> bool:
    """True if ``key`` reads the database through a WAL-aware read-write connection.

    A committed rekey that was not checkpointed yet lives in the WAL only, which the immutable
    key proof of :mod:`storage.database` cannot see. With ``True`` the WAL has also been
    checkpointed into the main file (TRUNCATE), so ``connect`` proves the key afterwards.
    """
    conn = sqlcipher3.connect(path.absolute().as_uri() + "?mode=rw", uri=True,
                              isolation_level=None)
    try:
        conn.execute(_pragma_key(key))
        conn.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if (isinstance(code, int) and code & 0xFF == SQLITE_NOTADB) or (
                "not a database" in str(exc).lower()
            ):
                return False
            raise
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise DatabaseInUse(_IN_USE)
        return True
    finally:
        conn.close()


def recover_interrupted_rekey(keystore: RekeyKeyStore) -> bytes:
    """The key that opens the data folder's database, after finishing or undoing an
    interrupted rekey (see the module doc); without a pending key, just the current key.

    The first step of opening the database, called by whoever opens it. Only when a pending key
    exists does it write: the database's WAL is checkpointed and the keyring's current entry
    replaced or its pending entry deleted. Raises ``KeyMissing`` when neither key is stored,
    ``WrongKey`` when neither opens the database (nothing is deleted then), ``DatabaseInUse``
    if another program holds the database, ``StorageError`` for a damaged key or key store.
    """
    path = database_path(keystore.data_dir)
    pending = keystore.load_pending()
    try:
        current: bytes | None = keystore.load_current()
    except KeyMissing:
        current = None
    if pending is None:
        if current is None:
            return keystore.load_current()  # raises KeyMissing
        return current
    if not path.exists():
        if current is None:
            return keystore.load_current()
        return current
    try:
        if current is not None and current != pending and _opens_with(path, current):
            keystore.discard_pending()
            log.info("an interrupted rekey had not changed the database; its new key was dropped")
            return current
        if _opens_with(path, pending):
            keystore.promote(pending)
            log.info("an interrupted rekey was completed: the new key is now current")
            return pending
    except sqlcipher3.Error as exc:
        mapped = translate(exc, path.parent)
        if mapped is not None:
            raise mapped from exc
        raise StorageError("The database could not be opened.") from exc
    raise WrongKey(
        "Neither the current nor the pending key in this computer's key store opens this "
        "database. It was left untouched; contact your administrator."
    )


__all__ = [
    "DatabaseInUse",
    "RekeyKeyStore",
    "RekeyResult",
    "recover_interrupted_rekey",
    "rekey",
]
