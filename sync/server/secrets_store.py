"""The data key of the credential secrets in the server database: load (or make) it, seal the
rows still in clear, rewrap it under a new secrets key (:mod:`sync.server.secrets_at_rest`).

Threads: any; each function runs its own transaction. Raises ``WrongKey`` (the secrets key
given does not open the stored data key: nothing is written), ``StorageError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mar_desktop.errors import StorageError
from sync.server import secrets_at_rest as sar
from sync.server.migrations import SEALED_PREFIX
from sync.server.store import AuditRow

if TYPE_CHECKING:
    from sync.server.sqlbase import SqlStore

_ROW = "SELECT kek_id, nonce, wrapped FROM server_secrets WHERE id = 1"


def unlock(store: SqlStore[Any], kek: bytes, conn: Any = None) -> None:
    """Loads the data key wrapped by ``kek`` into ``store.secrets``, making and storing one on
    the first call against this database, then seals every ``credentials`` row still in
    clear (rows written before migration SQLite 5 / PostgreSQL 6): in its own transaction, or
    inside the caller's open transaction on ``conn``. A wrong ``kek`` raises ``WrongKey``
    before anything is written; the store stays locked."""
    if conn is not None:
        store.secrets = _load_and_seal(store, conn, kek)
        return
    sqlite = type(store).__name__ == "SqliteStore"
    with store._pool.connection() as own:
        if sqlite:  # freed space of a rewritten row is zeroed, not left holding the plaintext
            store.run(own, "PRAGMA secure_delete=ON")
        try:
            with store.transaction(own):
                box = _load_and_seal(store, own, kek)
            if sqlite:  # the WAL still holds the old pages until a checkpoint
                store.run(own, "PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            if sqlite:
                store.run(own, "PRAGMA secure_delete=OFF")
    store.secrets = box


def _load_and_seal(store: SqlStore[Any], conn: Any, kek: bytes) -> sar.SecretBox:
    row = store.run(conn, _ROW).fetchone()
    if row is None:
        data_key = sar.new_data_key()
        nonce, wrapped = sar.wrap(kek, data_key)
        store.run(
            conn,
            "INSERT INTO server_secrets (id, kek_id, nonce, wrapped, created_at) "
            "VALUES (1, ?, ?, ?, ?)",
            (sar.key_id(kek), nonce, wrapped, store.now_text()),
        )
    else:
        data_key = sar.unwrap(kek, row[0], row[1], row[2])
    box = sar.SecretBox(data_key)
    clear = store.run(
        conn,
        "SELECT facility_id, user_id, version, record FROM credentials WHERE record NOT LIKE ?",
        (SEALED_PREFIX + "%",),
    ).fetchall()
    for facility_id, user_id, version, record in clear:
        store.run(
            conn,
            "UPDATE credentials SET record = ? "
            "WHERE facility_id = ? AND user_id = ? AND version = ?",
            (box.seal(facility_id, user_id, int(version), record), facility_id, user_id, version),
        )
    return box


def rotate(
    store: SqlStore[Any], old_kek: bytes, new_kek: bytes, audit: Sequence[AuditRow]
) -> None:
    """Rewraps the data key from ``old_kek`` to ``new_kek`` and appends the ``audit`` rows, in one
    transaction; no credential row changes. Raises ``WrongKey`` (``old_kek`` is not the key in
    use; nothing written), ``StorageError`` (no data key stored yet)."""
    with store._pool.connection() as conn, store.transaction(conn):
        sqlite = type(store).__name__ == "SqliteStore"  # BEGIN IMMEDIATE already locks there
        row = store.run(conn, _ROW if sqlite else _ROW + " FOR UPDATE").fetchone()
        if row is None:
            raise StorageError("this database has no server secrets yet: start the server once")
        data_key = sar.unwrap(old_kek, row[0], row[1], row[2])
        nonce, wrapped = sar.wrap(new_kek, data_key)
        store.run(
            conn,
            "UPDATE server_secrets SET kek_id = ?, nonce = ?, wrapped = ?, rotated_at = ? "
            "WHERE id = 1 AND kek_id = ?",
            (sar.key_id(new_kek), nonce, wrapped, store.now_text(), row[0]),
        )
        for a in audit:
            store.run(
                conn,
                "INSERT INTO server_audit (at, facility_id, device_id, action, address, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (a.at, a.facility_id, a.device_id, a.action, a.address, a.detail),
            )
