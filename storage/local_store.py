"""The opened local database as the app uses it: writer, readers and device identity.

Contract:

- :meth:`LocalStore.create` makes a new database in ``data_dir`` (refusing if one exists),
  applies every migration, generates this device's Ed25519 key pair and stores it with the
  device id and facility id in ``local_device``, and registers the public key in
  ``device_keys`` — all before returning. :meth:`LocalStore.open` opens an existing one: it
  first recovers from an interrupted rekey (:func:`storage.rekey.recover_interrupted_rekey`),
  then applies any newer migrations (``SchemaTooNew`` if the database is newer than this code).
- ``keystore`` is a key store (``storage.keystore.KeyStore``, or anything with its
  ``load_or_create`` to create and its rekey methods to open) or the raw 32-byte key itself
  (tests, tools).
- ``.ledger`` is the one writer (:class:`storage.ledger.Ledger`, any thread); ``.reader()``
  returns the calling thread's own :class:`~storage.read_model.SqlReadModel`, opened on first
  use. ``close()`` closes the writer and the calling thread's reader; readers of other threads
  are closed when those threads' objects are collected.
- Raises StorageError subclasses (``DatabaseMissing``, ``KeyMissing``, ``WrongKey``…).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Protocol

from mar_desktop.clock import Clock, SystemClock, utc_iso
from mar_desktop.envelope import new_id
from mar_desktop.errors import DatabaseMissing, StorageError
from mar_desktop.signing import DeviceSigner
from storage.database import Connection, connect, database_path
from storage.database_errors import translate
from storage.ledger import Ledger
from storage.migrate import migrate
from storage.projections_reference import register_device_key
from storage.read_model import ModelCache, SqlReadModel
from storage.rekey import RekeyKeyStore, recover_interrupted_rekey


class KeyProvider(Protocol):
    """What creating a database needs from a key store."""

    def load_or_create(self) -> bytes: ...


def init_device(conn: Connection, facility_id: str, clock: Clock) -> str:
    """Generates this device's identity in a new database; returns its device id."""
    signer = DeviceSigner.generate()
    device_id = new_id()
    now = utc_iso(clock.now().astimezone(UTC))
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO local_device (singleton, device_id, facility_id, signing_key, "
            "created_at) VALUES (1, ?, ?, ?, ?)",
            (device_id, facility_id, signer.private_bytes(), now),
        )
        register_device_key(
            conn,
            device_id,
            signer.public_hex,
            label="this device",
            registered_at=now,
            source="local",
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return device_id


class LocalStore:
    """An opened MAR Desktop database. Build with :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, key: bytes, ledger: Ledger, clock: Clock) -> None:
        self.path = path
        self._key = key
        self._clock = clock
        self.ledger = ledger
        self._cache = ModelCache()
        self._local = threading.local()
        # Reads inside a write transaction (append_decided) use the writer's own connection.
        ledger.bind_read_model(lambda conn: SqlReadModel(conn, clock, self._cache))

    @classmethod
    def create(
        cls,
        data_dir: Path,
        keystore: KeyProvider | bytes,
        facility_id: str,
        clock: Clock | None = None,
    ) -> LocalStore:
        """Creates a new database for ``facility_id``; StorageError if one exists already."""
        clock = clock or SystemClock()
        path = database_path(data_dir)
        if path.exists():
            raise StorageError("A database already exists in this data folder; it was kept.")
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = keystore if isinstance(keystore, bytes) else keystore.load_or_create()

        def open_new() -> Connection:
            conn = connect(path, key, create=True, shared=True)
            try:
                migrate(conn)
                init_device(conn, facility_id, clock)
            except BaseException:
                conn.close()
                raise
            return conn

        return cls(path, key, _start_ledger(open_new, clock), clock)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        keystore: RekeyKeyStore | bytes,
        clock: Clock | None = None,
        *,
        on_progress: Callable[[str], None] | None = None,
    ) -> LocalStore:
        """Opens the existing database of ``data_dir`` and brings its schema up to date.

        Steps: (1) with a key store, recover from an interrupted rekey and take the key that
        opens the database (:func:`storage.rekey.recover_interrupted_rekey`: writes only after
        such a rekey); (2) open and prove the key; (3) migrate. ``on_progress`` gets a message
        for the user before each step of an upgrade (see :func:`storage.migrate.migrate`),
        called on the thread that opens the database. Raises ``DatabaseMissing`` (nothing is
        created), ``KeyMissing``, ``WrongKey``, ``SchemaTooNew`` or another StorageError."""
        clock = clock or SystemClock()
        path = database_path(data_dir)
        if not path.exists():
            raise DatabaseMissing("There is no MAR Desktop database in this data folder yet.")
        key = keystore if isinstance(keystore, bytes) else recover_interrupted_rekey(keystore)

        def open_existing() -> Connection:
            conn = connect(path, key, shared=True)
            try:
                migrate(conn, on_step=on_progress)
            except BaseException:
                conn.close()
                raise
            return conn

        return cls(path, key, _start_ledger(open_existing, clock), clock)

    # --- reading --------------------------------------------------------------------------------
    def reader(self) -> SqlReadModel:
        """The calling thread's read model (its own connection, opened on first use)."""
        model: SqlReadModel | None = getattr(self._local, "reader", None)
        if model is None:
            model = SqlReadModel(connect(self.path, self._key), self._clock, self._cache)
            self._local.reader = model
        return model

    def connect_reader(self) -> Connection:
        """A new connection for the caller's own use on its thread (the caller closes it)."""
        return connect(self.path, self._key)

    @property
    def device_id(self) -> str:
        return self.ledger.device_id

    @property
    def facility_id(self) -> str:
        return self.ledger.facility_id

    def close(self) -> None:
        """Closes the writer and this thread's reader. Idempotent."""
        model: SqlReadModel | None = getattr(self._local, "reader", None)
        if model is not None:
            self._local.reader = None
            model.close()
        self.ledger.close()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _start_ledger(open_connection: Callable[[], Connection], clock: Clock) -> Ledger:
    try:
        return Ledger(open_connection, clock)
    except Exception as exc:
        mapped = translate(exc)
        if mapped is not None:
            raise mapped from exc
        raise
